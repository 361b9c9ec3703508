using LlmCostTracker.Contracts;
using LlmCostTracker.Ledger.Holds;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmCostTracker.Ledger.Reports;

/// <summary>The ledger's side of the reports: what Redis holds of a month, read with the commands of a bucket sent
/// together (one span per group). A month is spread over the buckets: its totals and user index are one hash and
/// one sorted set per bucket, a tag value's figures one hash per bucket of its users. Work grows with buckets × the
/// rows asked for, never with the number of users, and nothing scans keys. What a report makes of it (rows, the
/// projection, a month Redis has let go read from History instead) is the API's.</summary>
public sealed class LedgerReader(IConnectionMultiplexer redis, LedgerKeys keys, IOptions<BudgetOptions> budgets, BudgetHolds holds)
{
    /// <summary>The month's figures (the sum of every bucket's share), how many users it has and the ids of the
    /// <paramref name="top"/> users by cost (merged from each bucket's top).</summary>
    public async Task<LedgerMonthRead> MonthAsync(UsageMonth month, int top)
    {
        var db = redis.GetDatabase();
        var buckets = Enumerable.Range(0, keys.Buckets).ToArray();
        Task<HashEntry[]>[] totalsTasks;
        Task<long>[] countTasks;
        Task<SortedSetEntry[]>[] rankedTasks;
        using (RedisSpans.Start("HGETALL ZCARD ZRANGE", buckets.Length * 3))
        {
            totalsTasks = [.. buckets.Select(b => db.HashGetAllAsync(keys.MonthTotals(b, month.Key)))];
            countTasks = [.. buckets.Select(b => db.SortedSetLengthAsync(keys.MonthUsers(b, month.Key)))];
            rankedTasks = [.. buckets.Select(b => db.SortedSetRangeByRankWithScoresAsync(keys.MonthUsers(b, month.Key), 0, top - 1, Order.Descending))];
            await Task.WhenAll([.. totalsTasks, .. countTasks, .. rankedTasks]);
        }

        var figures = new MonthFigures();
        foreach (var bucket in totalsTasks)
        {
            figures.Add(bucket.Result);
        }

        var topUsers = rankedTasks.SelectMany(r => r.Result)
            .OrderByDescending(e => e.Score).ThenBy(e => e.Element.ToString(), StringComparer.Ordinal).Take(top)
            .Select(e => e.Element.ToString()).ToList();
        return new LedgerMonthRead(figures, countTasks.Sum(c => c.Result), topUsers);
    }

    /// <summary>A user's month (one hash: totals, models, days, alert states) and budget, and, with
    /// <paramref name="withHeld"/> (the current month: holds are not kept per month), what the user holds now, read
    /// together; null when the user has no usage that month.</summary>
    public async Task<LedgerUserRead?> UserAsync(string userId, UsageMonth month, bool withHeld)
    {
        var db = redis.GetDatabase();
        // Started first: its reads make their own spans.
        var heldTask = withHeld ? holds.HeldMicrosAsync(db, userId) : Task.FromResult(0L);
        HashEntry[] entries;
        RedisValue budget;
        using (RedisSpans.Start("HGETALL GET", 2))
        {
            var entriesTask = db.HashGetAllAsync(keys.UserMonth(userId, month.Key));
            var budgetTask = db.StringGetAsync(keys.UserBudget(userId));
            entries = await entriesTask;
            budget = await budgetTask;
        }

        var held = await heldTask;
        if (entries.Length == 0)
        {
            return null;
        }

        var exhausted = entries.FirstOrDefault(e => e.Name == LedgerKeys.AlertField(100)).Value;
        var forecast = entries.FirstOrDefault(e => e.Name == LedgerKeys.ForecastField).Value;
        return new LedgerUserRead(new MonthFigures().Add(entries), BudgetOf(budget),
            exhausted.HasValue ? LedgerKeys.CrossedAt(exhausted.ToString()) : null, ForecastOf(forecast), held);
    }

    /// <summary>A user's budget in micro-USD: their own, else the default.</summary>
    public async Task<long> BudgetMicrosAsync(string userId)
    {
        using (RedisSpans.Start("GET", 1))
        {
            return BudgetOf(await redis.GetDatabase().StringGetAsync(keys.UserBudget(userId)));
        }
    }

    /// <summary>Every value of a dimension that month with its cost in micro-USD: each bucket's index summed (at most
    /// <see cref="AttributionOptions.MaxValuesPerDimension"/> values a bucket, so the read is bounded).</summary>
    public async Task<Dictionary<string, long>> TagValueCostsAsync(string dimension, UsageMonth month)
    {
        var db = redis.GetDatabase();
        SortedSetEntry[][] indexes;
        using (RedisSpans.Start("ZRANGE", keys.Buckets))
        {
            indexes = await Task.WhenAll(Enumerable.Range(0, keys.Buckets).Select(b => db.SortedSetRangeByRankWithScoresAsync(keys.TagIndex(b, dimension, month.Key))));
        }

        var costs = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var entry in indexes.SelectMany(i => i))
        {
            // Scores are integer micro-USD, exact in a double up to 2^53.
            var value = entry.Element.ToString();
            costs[value] = costs.GetValueOrDefault(value) + (long)entry.Score;
        }

        return costs;
    }

    /// <summary>A tag value's month (its hash in every bucket, summed) and budget; null when it has no usage that month.</summary>
    public async Task<LedgerTagValueRead?> TagValueAsync(string dimension, string value, UsageMonth month)
    {
        var db = redis.GetDatabase();
        HashEntry[][] shares;
        RedisValue budget;
        using (RedisSpans.Start("GET HGETALL", 1 + keys.Buckets))
        {
            var budgetTask = db.StringGetAsync(LedgerKeys.TagBudget(dimension, value));
            shares = await Task.WhenAll(Enumerable.Range(0, keys.Buckets).Select(b => db.HashGetAllAsync(keys.TagValue(b, dimension, month.Key, value))));
            budget = await budgetTask;
        }

        if (shares.All(s => s.Length == 0))
        {
            return null;
        }

        var figures = new MonthFigures();
        foreach (var share in shares)
        {
            figures.Add(share);
        }

        return new LedgerTagValueRead(figures, TagBudgetOf(budget));
    }

    /// <summary>A tag value's <paramref name="top"/> users by cost that month (merged from each bucket's top) and its
    /// forecast alert, if one was sent.</summary>
    public async Task<LedgerTagUsersRead> TagValueUsersAsync(string dimension, string value, UsageMonth month, int top)
    {
        var db = redis.GetDatabase();
        SortedSetEntry[][] shares;
        RedisValue forecast;
        using (RedisSpans.Start("ZRANGE GET", keys.Buckets + 1))
        {
            var forecastTask = db.StringGetAsync(LedgerKeys.TagForecast(dimension, month.Key, value));
            shares = await Task.WhenAll(Enumerable.Range(0, keys.Buckets).Select(b =>
                db.SortedSetRangeByRankWithScoresAsync(keys.TagUsers(b, dimension, month.Key, value), 0, top - 1, Order.Descending)));
            forecast = await forecastTask;
        }

        var users = shares.SelectMany(u => u)
            .OrderByDescending(u => u.Score).ThenBy(u => u.Element.ToString(), StringComparer.Ordinal).Take(top)
            .Select(u => new LedgerUserCost(u.Element.ToString(), (long)u.Score)).ToList();
        return new LedgerTagUsersRead(users, ForecastOf(forecast));
    }

    /// <summary>The budgets of a dimension's values in micro-USD, in the order asked; null where a value has none.</summary>
    public async Task<long?[]> TagBudgetsAsync(string dimension, IReadOnlyList<string> values)
    {
        if (values.Count == 0)
        {
            return [];
        }

        RedisValue[] stored;
        using (RedisSpans.Start("MGET", 1))
        {
            stored = await redis.GetDatabase().StringGetAsync([.. values.Select(v => (RedisKey)LedgerKeys.TagBudget(dimension, v))]);
        }

        return [.. stored.Select(TagBudgetOf)];
    }

    private long BudgetOf(RedisValue stored) => stored.HasValue ? (long)stored : budgets.Value.DefaultMonthlyBudgetMicros;

    private static long? TagBudgetOf(RedisValue stored) => stored.HasValue ? (long)stored : null;

    /// <summary>A forecast alert's claim (a user's <see cref="LedgerKeys.ForecastField"/> or a tag value's
    /// <see cref="LedgerKeys.TagForecast"/>) as sent; null before one was sent.</summary>
    private static ForecastSent? ForecastOf(RedisValue claim) =>
        claim.HasValue && LedgerKeys.ParseForecastClaim(claim.ToString()) is { } sent ? new ForecastSent(sent.ForecastAt, sent.ExhaustedAt) : null;
}

/// <summary>What Redis holds of a month: its figures, its number of users and the top users' ids by cost.</summary>
public sealed record LedgerMonthRead(MonthFigures Figures, long UserCount, IReadOnlyList<string> TopUsers);

/// <summary>A user's month: the figures, the budget (micro-USD, the default where none is stored), when the 100%
/// threshold's crossing was recorded, the forecast alert sent, and what the user holds now (micro-USD).</summary>
public sealed record LedgerUserRead(MonthFigures Figures, long BudgetMicros, DateTimeOffset? RecordedExhaustion, ForecastSent? Forecast, long HeldMicros);

/// <summary>A tag value's month: the figures and its budget (micro-USD; null: none).</summary>
public sealed record LedgerTagValueRead(MonthFigures Figures, long? BudgetMicros);

/// <summary>A tag value's top users and its forecast alert sent.</summary>
public sealed record LedgerTagUsersRead(IReadOnlyList<LedgerUserCost> Users, ForecastSent? Forecast);

public readonly record struct LedgerUserCost(string UserId, long CostMicros);

/// <summary>A forecast alert sent: when it was sent and when it projected the budget to run out.</summary>
public readonly record struct ForecastSent(DateTimeOffset ForecastAt, DateTimeOffset ExhaustedAt);
