using LlmCostTracker.Contracts;
using LlmCostTracker.Contracts.Reporting;
using LlmCostTracker.History.Reports;
using LlmCostTracker.Ledger;
using StackExchange.Redis;
using static LlmCostTracker.ApiService.Reporting.CostReports;

namespace LlmCostTracker.ApiService.Reporting;

/// <summary>Reports by tag. A value's month is spread over the buckets of its users, so a value's figures are the
/// sum of its hash in every bucket, and the ranking sums each bucket's index (a sorted set per dimension and month,
/// at most <see cref="AttributionOptions.MaxValuesPerDimension"/> values, so the read is bounded) before taking the
/// top. Then each row is one read per bucket of that value's hash, issued together; nothing scans keys. A past month
/// with nothing in Redis (its keys expire 35 days after it) is read from the history database's tag rollups, in the
/// same shape, except a value's top users, which history does not keep per tag.</summary>
public sealed class TagReports(IConnectionMultiplexer redis, LedgerKeys keys, TimeProvider clock, HistoryReader? history = null)
{
    public async Task<TagCostReport> DimensionAsync(string dimension, LedgerMonth month, int top)
    {
        var db = redis.GetDatabase();
        var now = clock.GetUtcNow();
        var costs = new Dictionary<string, double>(StringComparer.Ordinal);
        SortedSetEntry[][] indexes;
        using (RedisSpans.Start("ZRANGE", keys.Buckets))
        {
            indexes = await Task.WhenAll(Enumerable.Range(0, keys.Buckets).Select(b => db.SortedSetRangeByRankWithScoresAsync(keys.TagIndex(b, dimension, month.Key))));
        }

        foreach (var bucket in indexes)
        {
            foreach (var entry in bucket)
            {
                var value = entry.Element.ToString();
                costs[value] = costs.GetValueOrDefault(value) + entry.Score;
            }
        }

        if (costs.Count == 0 && FromHistory(month, now) is { } store)
        {
            return await HistoryDimensionAsync(store, db, dimension, month, top, now);
        }

        // Scores are integer micro-USD, exact in a double up to 2^53.
        var ranked = costs.OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal).Take(top).Select(c => c.Key).ToList();
        var rows = await Task.WhenAll(ranked.Select(async value => (await ReadValueAsync(db, dimension, value, month, now)).Row));
        var total = (long)costs.Values.Sum();
        var projection = MonthProjection.Project(total, month.Year, month.Month, now, budgetMicros: 0);
        return new TagCostReport(month.Key, Currency, now, dimension, new TagReportTotals(Usd(total), costs.Count, Usd(projection.MonthEndMicros)),
            [.. rows.OfType<TagCostRow>().OrderByDescending(r => r.CostUsd).ThenBy(r => r.Value, StringComparer.Ordinal)]);
    }

    /// <summary>One value's month, or null when it has no usage that month.</summary>
    public async Task<TagCostDetail?> ValueAsync(string dimension, string value, LedgerMonth month, int topUsers)
    {
        var db = redis.GetDatabase();
        var now = clock.GetUtcNow();
        // Started first: its reads make their own span.
        var valueTask = ReadValueAsync(db, dimension, value, month, now);
        var forecastTask = db.StringGetAsync(LedgerKeys.TagForecast(dimension, month.Key, value));
        SortedSetEntry[][] userShares;
        RedisValue forecastClaim;
        using (RedisSpans.Start("ZRANGE GET", keys.Buckets + 1))
        {
            userShares = await Task.WhenAll(Enumerable.Range(0, keys.Buckets).Select(b =>
                db.SortedSetRangeByRankWithScoresAsync(keys.TagUsers(b, dimension, month.Key, value), 0, topUsers - 1, Order.Descending)));
            forecastClaim = await forecastTask;
        }

        var (row, daily) = await valueTask;
        var users = userShares.SelectMany(u => u)
            .OrderByDescending(u => u.Score).ThenBy(u => u.Element.ToString(), StringComparer.Ordinal).Take(topUsers)
            .Select(u => new TagUserCost(u.Element!, Usd((long)u.Score))).ToList();
        if (row is null)
        {
            if (FromHistory(month, now) is not { } store
                || (await store.TagValuesAsync(dimension, FirstDay(month), FirstDay(month).AddMonths(1), value, CancellationToken.None)).FirstOrDefault() is not { } past)
            {
                return null;
            }

            (row, daily) = HistoryValueRow(past, await db.StringGetAsync(LedgerKeys.TagBudget(dimension, value)), month, now);
        }

        return new TagCostDetail(month.Key, Currency, now, dimension, value, row.CostUsd, row.InputTokens, row.CachedInputTokens, row.OutputTokens,
            row.Requests, row.CacheWriteInputTokens, row.ReasoningOutputTokens, row.BudgetUsd, row.BudgetUsedPercent, row.BudgetExhausted,
            row.ProjectedMonthEndCostUsd, row.ProjectedBudgetExhaustedAt, row.Models, daily, users,
            ForecastOf(forecastClaim));
    }

    private async Task<(TagCostRow? Row, List<DailyCost> Daily)> ReadValueAsync(IDatabase db, string dimension, string value, LedgerMonth month, DateTimeOffset now)
    {
        HashEntry[][] shares;
        RedisValue budgetValue;
        using (RedisSpans.Start("GET HGETALL", 1 + keys.Buckets))
        {
            var budgetTask = db.StringGetAsync(LedgerKeys.TagBudget(dimension, value));
            shares = await Task.WhenAll(Enumerable.Range(0, keys.Buckets).Select(b => db.HashGetAllAsync(keys.TagValue(b, dimension, month.Key, value))));
            budgetValue = await budgetTask;
        }

        if (shares.All(s => s.Length == 0))
        {
            return (null, []);
        }

        var models = new Dictionary<string, Counters>(StringComparer.Ordinal);
        var days = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var counters = default(Counters);
        foreach (var share in shares)
        {
            counters += Read(share, models, days);
        }

        return ValueRow(value, counters, models, [.. days.Select(d => new DailyCost(d.Key, Usd(d.Value)))], budgetValue, month, now);
    }

    /// <summary>The history database when a month's tags may be read from it: a past month only. This month's tag
    /// values reach Redis a fold after their usage, and the rollups may reach PostgreSQL first; a value read between
    /// would come from history without its users.</summary>
    private HistoryReader? FromHistory(LedgerMonth month, DateTimeOffset now) => month != LedgerMonth.Of(now) ? history : null;

    /// <summary>A dimension's month from the history database: its values ranked by cost, with today's budgets.</summary>
    private async Task<TagCostReport> HistoryDimensionAsync(HistoryReader store, IDatabase db, string dimension, LedgerMonth month, int top, DateTimeOffset now)
    {
        var values = await store.TagValuesAsync(dimension, FirstDay(month), FirstDay(month).AddMonths(1), value: null, CancellationToken.None);
        var ranked = values.Take(top).ToList();
        var budgets = ranked.Count == 0 ? [] : await db.StringGetAsync([.. ranked.Select(v => (RedisKey)LedgerKeys.TagBudget(dimension, v.Key))]);
        var total = values.Sum(v => v.Totals.Cost);
        var projection = MonthProjection.Project(total, month.Year, month.Month, now, budgetMicros: 0);
        return new TagCostReport(month.Key, Currency, now, dimension, new TagReportTotals(Usd(total), values.Count, Usd(projection.MonthEndMicros)),
            [.. ranked.Select((v, i) => HistoryValueRow(v, budgets[i], month, now).Row)]);
    }

    private static (TagCostRow Row, List<DailyCost> Daily) HistoryValueRow(HistorySeries value, RedisValue budget, LedgerMonth month, DateTimeOffset now) =>
        ValueRow(value.Key, Of(value.Totals), value.Models.ToDictionary(m => m.Key, m => Of(m.Value), StringComparer.Ordinal),
            [.. value.Days.Select(d => new DailyCost(Day(d.Day), Usd(d.CostMicros)))], budget, month, now);

    /// <summary>A value's month as reported, from wherever it was read.</summary>
    private static (TagCostRow Row, List<DailyCost> Daily) ValueRow(
        string value, Counters counters, Dictionary<string, Counters> models, List<DailyCost> daily, RedisValue budgetValue, LedgerMonth month, DateTimeOffset now)
    {
        long? budget = budgetValue.HasValue ? (long)budgetValue : null;
        var projection = MonthProjection.Project(counters.Cost, month.Year, month.Month, now, budget ?? 0);
        var over = budget > 0 && counters.Cost >= budget;
        var row = new TagCostRow(
            value,
            Usd(counters.Cost),
            counters.Input,
            counters.Cached,
            counters.Output,
            counters.Requests,
            counters.CacheWrite,
            counters.Reasoning,
            budget is { } b ? Usd(b) : null,
            budget > 0 ? decimal.Round(counters.Cost * 100m / budget.Value, 2, MidpointRounding.AwayFromZero) : null,
            over,
            Usd(projection.MonthEndMicros),
            // Over budget: the end of the day the daily series crossed it (never a time before the usage).
            over ? CrossingDayEnd(daily, budget!.Value, now) : projection.BudgetExhaustedAt,
            ModelRows(models));
        return (row, daily);
    }
}
