namespace LlmCostTracker.Contracts;

/// <summary>The Redis key layout shared by the worker (writes) and the admin API (reads). Every key carries the
/// hash tag <c>{llmcost}</c>: one slot, so one script can claim a write's events and apply every user's and the
/// month's increments atomically, and the layout still runs unchanged on Redis Cluster (on one shard).</summary>
public static class LedgerKeys
{
    private const string Root = "{llmcost}:";

    /// <summary>Hash: cost (micro-USD), input, cached, output, requests.</summary>
    public static string UserTotals(string userId, string month) => $"{User(userId)}:{month}:totals";

    /// <summary>Hash: <c>{field}|{model}</c> with the fields of <see cref="UserTotals"/>.</summary>
    public static string UserModels(string userId, string month) => $"{User(userId)}:{month}:models";

    /// <summary>Hash: <c>yyyy-MM-dd</c> → cost (micro-USD).</summary>
    public static string UserDaily(string userId, string month) => $"{User(userId)}:{month}:daily";

    /// <summary>Hash: threshold percent → "pending|eventId|spent" until published, then "sent|eventId|spent".</summary>
    public static string UserAlerts(string userId, string month) => $"{User(userId)}:{month}:alerts";

    /// <summary>String: the user's monthly budget override in micro-USD (no expiry).</summary>
    public static string UserBudget(string userId) => $"{User(userId)}:budget";

    /// <summary>Hash: the month's totals over all users, fields as <see cref="UserTotals"/>.</summary>
    public static string MonthTotals(string month) => $"{MonthSlot(month)}:totals";

    /// <summary>Sorted set: userId scored by the month's cost in micro-USD: the report index, no SCAN.</summary>
    public static string MonthUsers(string month) => $"{MonthSlot(month)}:users";

    /// <summary>Set: <c>userId|eventId</c> of every event the month has counted (the idempotency claims).</summary>
    public static string MonthEvents(string month) => $"{MonthSlot(month)}:events";

    public const string Cost = "cost";
    public const string Input = "input";
    public const string Cached = "cached";
    public const string Output = "output";
    public const string Requests = "requests";

    private static string User(string userId) => $"{Root}u:{userId}";

    private static string MonthSlot(string month) => $"{Root}m:{month}";
}
