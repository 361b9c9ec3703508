using LlmCostTracker.Contracts;
using LlmCostTracker.Contracts.Reporting;
using LlmCostTracker.History.Reports;
using LlmCostTracker.Ledger.Reports;
using static LlmCostTracker.ApiService.Reporting.CostReports;

namespace LlmCostTracker.ApiService.Reporting;

/// <summary>Reports by tag. What Redis holds is read by the ledger (<see cref="LedgerReader"/>: a dimension's values
/// by cost, a value's figures summed over the buckets of its users, its top users). A past month with nothing in Redis
/// (its keys expire 35 days after it) is read from the history database's tag rollups, in the same shape, except a
/// value's top users, which history does not keep per tag.</summary>
public sealed class TagReports(LedgerReader ledger, TimeProvider clock, HistoryReader? history = null)
{
    public async Task<TagCostReport> DimensionAsync(string dimension, UsageMonth month, int top)
    {
        var now = clock.GetUtcNow();
        var costs = await ledger.TagValueCostsAsync(dimension, month);
        if (costs.Count == 0 && FromHistory(month, now) is { } store)
        {
            return await HistoryDimensionAsync(store, dimension, month, top, now);
        }

        var ranked = costs.OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal).Take(top).Select(c => c.Key).ToList();
        var rows = await Task.WhenAll(ranked.Select(async value => await ledger.TagValueAsync(dimension, value, month) is { } read
            ? ValueRow(value, read.Figures, read.BudgetMicros, month, now).Row
            : null));
        var total = costs.Values.Sum();
        var projection = MonthProjection.Project(total, month.Year, month.Month, now, budgetMicros: 0);
        return new TagCostReport(month.Key, Currency, now, dimension, new TagReportTotals(Usd(total), costs.Count, Usd(projection.MonthEndMicros)),
            [.. rows.OfType<TagCostRow>().OrderByDescending(r => r.CostUsd).ThenBy(r => r.Value, StringComparer.Ordinal)]);
    }

    /// <summary>One value's month, or null when it has no usage that month.</summary>
    public async Task<TagCostDetail?> ValueAsync(string dimension, string value, UsageMonth month, int topUsers)
    {
        var now = clock.GetUtcNow();
        // Both started at once: each sends its commands together.
        var valueTask = ledger.TagValueAsync(dimension, value, month);
        var usersTask = ledger.TagValueUsersAsync(dimension, value, month, topUsers);
        var (read, users) = (await valueTask, await usersTask);
        TagCostRow row;
        List<DailyCost> daily;
        if (read is not null)
        {
            (row, daily) = ValueRow(value, read.Figures, read.BudgetMicros, month, now);
        }
        else if (FromHistory(month, now) is { } store
            && (await store.TagValuesAsync(dimension, FirstDay(month), FirstDay(month).AddMonths(1), value, CancellationToken.None)).FirstOrDefault() is { } past)
        {
            (row, daily) = HistoryValueRow(past, (await ledger.TagBudgetsAsync(dimension, [value]))[0], month, now);
        }
        else
        {
            return null;
        }

        return new TagCostDetail(month.Key, Currency, now, dimension, value, row.CostUsd, row.InputTokens, row.CachedInputTokens, row.OutputTokens,
            row.Requests, row.CacheWriteInputTokens, row.ReasoningOutputTokens, row.BudgetUsd, row.BudgetUsedPercent, row.BudgetExhausted,
            row.ProjectedMonthEndCostUsd, row.ProjectedBudgetExhaustedAt, row.Models, daily,
            [.. users.Users.Select(u => new TagUserCost(u.UserId, Usd(u.CostMicros)))],
            ForecastOf(users.Forecast));
    }

    /// <summary>The history database when a month's tags may be read from it: a past month only. This month's tag
    /// values reach Redis a fold after their usage, and the rollups may reach PostgreSQL first; a value read between
    /// would come from history without its users.</summary>
    private HistoryReader? FromHistory(UsageMonth month, DateTimeOffset now) => month != UsageMonth.Of(now) ? history : null;

    /// <summary>A dimension's month from the history database: its values ranked by cost, with today's budgets.</summary>
    private async Task<TagCostReport> HistoryDimensionAsync(HistoryReader store, string dimension, UsageMonth month, int top, DateTimeOffset now)
    {
        var values = await store.TagValuesAsync(dimension, FirstDay(month), FirstDay(month).AddMonths(1), value: null, CancellationToken.None);
        var ranked = values.Take(top).ToList();
        var budgets = await ledger.TagBudgetsAsync(dimension, [.. ranked.Select(v => v.Key)]);
        var total = values.Sum(v => v.Totals.Cost);
        var projection = MonthProjection.Project(total, month.Year, month.Month, now, budgetMicros: 0);
        return new TagCostReport(month.Key, Currency, now, dimension, new TagReportTotals(Usd(total), values.Count, Usd(projection.MonthEndMicros)),
            [.. ranked.Select((v, i) => HistoryValueRow(v, budgets[i], month, now).Row)]);
    }

    private static (TagCostRow Row, List<DailyCost> Daily) HistoryValueRow(HistorySeries value, long? budget, UsageMonth month, DateTimeOffset now) =>
        ValueRow(value.Key, Of(value.Totals), value.Models.ToDictionary(m => m.Key, m => Of(m.Value), StringComparer.Ordinal),
            Daily(value.Days), budget, month, now);

    private static (TagCostRow Row, List<DailyCost> Daily) ValueRow(string value, MonthFigures figures, long? budget, UsageMonth month, DateTimeOffset now) =>
        ValueRow(value, figures.Totals, figures.Models, Daily(figures), budget, month, now);

    /// <summary>A value's month as reported, from wherever it was read.</summary>
    private static (TagCostRow Row, List<DailyCost> Daily) ValueRow(
        string value, LedgerCounters counters, Dictionary<string, LedgerCounters> models, List<DailyCost> daily, long? budget, UsageMonth month, DateTimeOffset now)
    {
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
