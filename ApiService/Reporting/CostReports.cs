using LlmCostTracker.Contracts;
using LlmCostTracker.Contracts.Reporting;
using LlmCostTracker.History.Reports;
using LlmCostTracker.Ledger;
using LlmCostTracker.Ledger.Reports;

namespace LlmCostTracker.ApiService.Reporting;

/// <summary>Builds the month reports: what Redis holds is read by the ledger (<see cref="LedgerReader"/>: a month's
/// figures, its top users, a user's month), and a month Redis has let go (its keys expire 35 days after the month) is
/// read from the history database instead, in the same shape: only a month (or a user's month) with nothing in Redis
/// goes to PostgreSQL. The rows, the projection and when a budget ran out are worked out here, whichever store a
/// month came from.</summary>
public sealed class CostReports(LedgerReader ledger, TimeProvider clock, HistoryReader? history = null)
{
    public const string Currency = "USD";

    public async Task<CostReport> MonthAsync(UsageMonth month, int top)
    {
        var now = clock.GetUtcNow();
        var read = await ledger.MonthAsync(month, top);
        var totals = read.Figures.Totals;
        if (read.UserCount == 0 && totals.Requests == 0 && history is not null)
        {
            return await HistoryMonthAsync(history, month, top, now);
        }

        var rows = await Task.WhenAll(read.TopUsers.Select(async user => (await ReadUserAsync(user, month, now)).Row));
        var projection = MonthProjection.Project(totals.Cost, month.Year, month.Month, now, budgetMicros: 0);

        return new CostReport(month.Key, Currency, now,
            new ReportTotals(Usd(totals.Cost), totals.Input, totals.Cached, totals.Output, totals.Requests, read.UserCount, Usd(projection.MonthEndMicros),
                totals.CacheWrite, totals.Reasoning),
            [.. rows.OfType<UserCostRow>().OrderByDescending(r => r.CostUsd).ThenBy(r => r.UserId, StringComparer.Ordinal)],
            ModelRows(read.Figures.Models),
            Daily(read.Figures));
    }

    internal static ModelCostRow[] ModelRows(Dictionary<string, LedgerCounters> models) =>
    [
        .. models
            .Select(m => new ModelCostRow(m.Key, Usd(m.Value.Cost), m.Value.Input, m.Value.Cached, m.Value.Output, m.Value.Requests, m.Value.CacheWrite, m.Value.Reasoning))
            .OrderByDescending(m => m.CostUsd)
            .ThenBy(m => m.Model, StringComparer.Ordinal),
    ];

    /// <summary>One user's month with its daily series, or null when the user has no usage that month.</summary>
    public async Task<UserCostDetail?> UserAsync(string userId, UsageMonth month)
    {
        var now = clock.GetUtcNow();
        var (row, daily, forecast) = await ReadUserAsync(userId, month, now);
        if (row is null)
        {
            if (history is not null && await history.UserAsync(userId, FirstDay(month), FirstDay(month).AddMonths(1), CancellationToken.None) is { } past)
            {
                (row, daily) = await HistoryUserRowAsync(past, month, now);
                forecast = null;
            }
            else
            {
                return null;
            }
        }

        return new UserCostDetail(month.Key, Currency, now, row.UserId, row.CostUsd, row.InputTokens, row.CachedInputTokens,
            row.OutputTokens, row.Requests, row.BudgetUsd, row.BudgetUsedPercent, row.ProjectedMonthEndCostUsd,
            row.ProjectedBudgetExhaustedAt, row.Models, daily, row.CacheWriteInputTokens, row.ReasoningOutputTokens, row.BudgetExhausted, row.HeldUsd,
            forecast);
    }

    /// <summary>A user's month from Redis, with what the user holds now for the current month (a past month shows none).</summary>
    private async Task<(UserCostRow? Row, List<DailyCost> Daily, BudgetForecast? Forecast)> ReadUserAsync(string userId, UsageMonth month, DateTimeOffset now)
    {
        if (await ledger.UserAsync(userId, month, withHeld: month == UsageMonth.Of(now)) is not { } read)
        {
            return (null, [], null);
        }

        var daily = Daily(read.Figures);
        var row = UserRow(userId, read.Figures.Totals, read.Figures.Models, daily, read.BudgetMicros, month, now, read.RecordedExhaustion, read.HeldMicros);
        return (row, daily, ForecastOf(read.Forecast));
    }

    private async Task<CostReport> HistoryMonthAsync(HistoryReader store, UsageMonth month, int top, DateTimeOffset now)
    {
        var from = FirstDay(month);
        var past = await store.PeriodAsync(from, from.AddMonths(1), top, CancellationToken.None);
        if (past is null)
        {
            return new CostReport(month.Key, Currency, now, new ReportTotals(0, 0, 0, 0, 0, 0, 0, 0, 0), [], [], []);
        }

        var rows = (await Task.WhenAll(past.TopUsers.Select(user => HistoryUserRowAsync(user, month, now)))).Select(r => r.Row);

        var totals = Of(past.Totals);
        var projection = MonthProjection.Project(totals.Cost, month.Year, month.Month, now, budgetMicros: 0);
        return new CostReport(month.Key, Currency, now,
            new ReportTotals(Usd(totals.Cost), totals.Input, totals.Cached, totals.Output, totals.Requests, past.UserCount, Usd(projection.MonthEndMicros),
                totals.CacheWrite, totals.Reasoning),
            [.. rows.OrderByDescending(r => r.CostUsd).ThenBy(r => r.UserId, StringComparer.Ordinal)],
            ModelRows(past.Models.ToDictionary(m => m.Key, m => Of(m.Value), StringComparer.Ordinal)),
            Daily(past.Days));
    }

    /// <summary>A user's row from the history database: the budget is today's (budgets are not kept per month), nothing
    /// is held, and a crossing is known to the day.</summary>
    private async Task<(UserCostRow Row, List<DailyCost> Daily)> HistoryUserRowAsync(HistorySeries user, UsageMonth month, DateTimeOffset now)
    {
        var budget = await ledger.BudgetMicrosAsync(user.Key);
        var daily = Daily(user.Days);
        var models = user.Models.ToDictionary(m => m.Key, m => Of(m.Value), StringComparer.Ordinal);
        return (UserRow(user.Key, Of(user.Totals), models, daily, budget, month, now, recordedCrossing: null, heldMicros: 0), daily);
    }

    /// <summary>A user's month as reported, from wherever it was read: the budget's use, the projection and, past the
    /// budget, when it ran out (the crossing the ledger recorded, else the end of the day the daily series crosses it).</summary>
    private static UserCostRow UserRow(
        string userId, LedgerCounters counters, Dictionary<string, LedgerCounters> models, List<DailyCost> daily, long budget, UsageMonth month, DateTimeOffset now,
        DateTimeOffset? recordedCrossing, long heldMicros)
    {
        var projection = MonthProjection.Project(counters.Cost, month.Year, month.Month, now, budget);
        var over = budget > 0 && counters.Cost >= budget;
        return new UserCostRow(
            userId,
            Usd(counters.Cost),
            counters.Input,
            counters.Cached,
            counters.Output,
            counters.Requests,
            Usd(budget),
            budget > 0 ? decimal.Round(counters.Cost * 100m / budget, 2, MidpointRounding.AwayFromZero) : null,
            Usd(projection.MonthEndMicros),
            over ? recordedCrossing ?? CrossingDayEnd(daily, budget, now) : projection.BudgetExhaustedAt,
            ModelRows(models),
            counters.CacheWrite,
            counters.Reasoning,
            over,
            Usd(heldMicros));
    }

    /// <summary>A month's cost per day as reported, in day order.</summary>
    internal static List<DailyCost> Daily(MonthFigures figures) => [.. figures.Days.Select(d => new DailyCost(d.Key, Usd(d.Value)))];

    /// <summary>A month's cost per day from the history database, as reported.</summary>
    internal static List<DailyCost> Daily(IReadOnlyList<(DateOnly Day, long CostMicros)> days) => [.. days.Select(d => new DailyCost(Day(d.Day), Usd(d.CostMicros)))];

    internal static DateOnly FirstDay(UsageMonth month) => new(month.Year, month.Month, 1);

    internal static string Day(DateOnly day) => day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    internal static LedgerCounters Of(HistoryCounters c) => new(c.Cost, c.Input, c.Cached, c.Output, c.Requests, c.CacheWrite, c.Reasoning);

    /// <summary>The month's forecast alert as reported (a user's or a tag value's); null before one was sent.</summary>
    internal static BudgetForecast? ForecastOf(ForecastSent? sent) => sent is { } s ? new BudgetForecast(s.ForecastAt, s.ExhaustedAt) : null;

    /// <summary>Without a recorded crossing (no 100% threshold configured, or usage from before it was recorded):
    /// the end of the day the daily series crosses the budget, or now if that is today. Day precision, but never
    /// before the usage that crossed it, as extrapolating the run rate backwards would be.</summary>
    internal static DateTimeOffset? CrossingDayEnd(List<DailyCost> daily, long budgetMicros, DateTimeOffset now)
    {
        var spent = 0m;
        foreach (var day in daily)
        {
            spent += day.CostUsd;
            if (BudgetOptions.ToMicros(spent) >= budgetMicros)
            {
                var end = DateTimeOffset.ParseExact(day.Date, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture,
                    System.Globalization.DateTimeStyles.AssumeUniversal).AddDays(1);
                return end < now ? end : now;
            }
        }

        return now;
    }

    internal static decimal Usd(long micros) => BudgetOptions.ToUsd(micros);
}
