using LlmCostTracker.Contracts;

namespace LlmCostTracker.WorkerService.Budgets;

/// <summary>When a month's budget runs out at the recent burn rate (<see cref="Project"/>), if before the month ends.</summary>
public sealed record BurnRateProjection(DateTimeOffset ExhaustedAt, long DailyRateMicros, double DaysEarly);

public static class BurnRateForecast
{
    /// <summary>Projects a user's month. <paramref name="dayCosts"/> holds the month's spend per UTC day (micro-USD);
    /// the rate is the spend of the days within <see cref="ForecastOptions.Window"/> of <paramref name="now"/> over the
    /// time from the first of those days' start (or the first day with spend, if later) to now. Null when there is
    /// nothing to warn of: no budget, the budget already spent (its threshold alerts have said so), too few events or too
    /// short a history for a rate, or a run-out on or after the month's end.</summary>
    public static BurnRateProjection? Project(
        long spentMicros, long events, long budgetMicros, IReadOnlyDictionary<DateOnly, long> dayCosts, DateTimeOffset now, ForecastOptions options)
    {
        if (budgetMicros <= 0 || spentMicros >= budgetMicros || events < options.MinEvents)
        {
            return null;
        }

        var spendDays = dayCosts.Where(d => d.Value > 0).Select(d => d.Key).ToList();
        if (spendDays.Count == 0)
        {
            return null;
        }

        var firstStart = StartOf(spendDays.Min());
        if (now - firstStart < options.MinHistory)
        {
            return null;
        }

        var windowStart = StartOf(DateOnly.FromDateTime((now - options.Window).UtcDateTime));
        if (windowStart < firstStart)
        {
            windowStart = firstStart;
        }

        var span = now - windowStart;
        var windowSpend = dayCosts.Where(d => StartOf(d.Key) >= windowStart).Sum(d => d.Value);
        if (windowSpend <= 0 || span <= TimeSpan.Zero)
        {
            return null;
        }

        var dailyRate = windowSpend / span.TotalDays;
        var exhaustedAt = now + TimeSpan.FromDays((budgetMicros - spentMicros) / dailyRate);
        var monthEnd = UsageMonth.Of(now).Start.AddMonths(1);
        return exhaustedAt < monthEnd
            ? new BurnRateProjection(exhaustedAt, (long)Math.Round(dailyRate), (monthEnd - exhaustedAt).TotalDays)
            : null;
    }

    private static DateTimeOffset StartOf(DateOnly day) => new(day.Year, day.Month, day.Day, 0, 0, 0, TimeSpan.Zero);
}
