namespace LlmCostTracker.ApiService.Reporting;

/// <summary>Where a month's spend is heading. Pure: the clock comes in as an argument.</summary>
public readonly record struct Projection(long MonthEndMicros, DateTimeOffset? BudgetExhaustedAt);

public static class MonthProjection
{
    public static DateTimeOffset StartOf(int year, int month) => new(year, month, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The run rate of the month so far (spend ÷ time elapsed since the month began) extended to the
    /// month's end. A past month projects its actual total; a month not yet begun projects what it holds.
    /// <see cref="Projection.BudgetExhaustedAt"/> is when that run rate reaches the budget, which lies in the past
    /// when the spend already exceeds it, and is null when it would not within the month, for a past month, or
    /// without a budget.</summary>
    public static Projection Project(long spentMicros, int year, int month, DateTimeOffset now, long budgetMicros)
    {
        var start = StartOf(year, month);
        var end = start.AddMonths(1);
        if (now >= end || now <= start || spentMicros <= 0)
        {
            return new Projection(spentMicros, null);
        }

        decimal elapsed = (now - start).Ticks;
        decimal length = (end - start).Ticks;
        var projected = (long)decimal.Round(spentMicros * length / elapsed, MidpointRounding.AwayFromZero);

        DateTimeOffset? exhaustedAt = null;
        if (budgetMicros > 0)
        {
            var ticks = elapsed * budgetMicros / spentMicros;
            if (ticks < length)
            {
                exhaustedAt = start.AddTicks((long)decimal.Round(ticks, MidpointRounding.AwayFromZero));
            }
        }

        return new Projection(projected, exhaustedAt);
    }
}
