namespace LlmCostTracker.Contracts;

/// <summary>The Redis key layout shared by the worker (writes) and the admin API (reads). Every key carries the
/// hash tag <c>{llmcost}</c>: one slot, so one script can claim a write's events and apply every user's and the
/// month's increments atomically, and the layout still runs unchanged on Redis Cluster (on one shard).</summary>
public static class LedgerKeys
{
    private const string Root = "{llmcost}:";

    /// <summary>Hash: everything about one user's month, so the worker reads it with one HMGET and writes it with
    /// one HSET. Fields: the totals <c>cost</c> (micro-USD), <c>input</c>, <c>cached</c>, <c>output</c>,
    /// <c>requests</c>; per model <see cref="ModelField"/> (<c>model|gpt-4o</c>) → the same five counters packed as
    /// <c>cost,input,cached,output,requests</c> (one field a model: the worker touches a fifth as many fields, see
    /// <see cref="ParseModelCounters"/>); per day <see cref="DayField"/>
    /// → cost (micro-USD); per threshold <see cref="AlertField"/> → <c>pending|eventId|spent</c> until published,
    /// then <c>sent|eventId|spent</c>.</summary>
    public static string UserMonth(string userId, string month) => $"{User(userId)}:{month}";

    /// <summary><c>model|{model}</c>.</summary>
    public static string ModelField(string model) => $"{ModelPrefix}{model}";

    /// <summary>Reads a <see cref="ModelField"/>'s value, <c>cost,input,cached,output,requests</c>, in that order.</summary>
    public static long[] ParseModelCounters(string value)
    {
        var parts = value.Split(',');
        if (parts.Length != 5)
        {
            throw new FormatException($"A model field holds five counters, not '{value}'.");
        }

        return Array.ConvertAll(parts, p => long.Parse(p, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary><c>day|yyyy-MM-dd</c>.</summary>
    public static string DayField(string day) => $"{DayPrefix}{day}";

    /// <summary><c>alert|{threshold}</c>.</summary>
    public static string AlertField(int thresholdPercent) => $"{AlertPrefix}{thresholdPercent}";

    public const string ModelPrefix = "model|";
    public const string DayPrefix = "day|";
    public const string AlertPrefix = "alert|";

    /// <summary>String: the user's monthly budget override in micro-USD (no expiry).</summary>
    public static string UserBudget(string userId) => $"{User(userId)}:budget";

    /// <summary>Hash: the month's totals over all users, the total fields of <see cref="UserMonth"/>.</summary>
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
