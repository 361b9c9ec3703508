using LlmCostTracker.WorkerService.Budgets;

namespace LlmCostTracker.Tests.Unit;

public sealed class BurnRateForecastTests
{
    private const long Dollar = 1_000_000;
    private static readonly ForecastOptions Defaults = new();

    private static DateTimeOffset Utc(int d, int h = 0) => new(2026, 11, d, h, 0, 0, TimeSpan.Zero);

    private static Dictionary<DateOnly, long> Days(params (int Day, long Micros)[] days) =>
        days.ToDictionary(d => new DateOnly(2026, 11, d.Day), d => d.Micros);

    private static void AssertNear(DateTimeOffset expected, DateTimeOffset actual) =>
        Assert.InRange(actual, expected.AddSeconds(-1), expected.AddSeconds(1));

    [Fact]
    public void A_steady_rate_runs_out_at_the_spend_over_the_window()
    {
        // $1 a day on the 4th to the 10th, now the 11th at 00:00: $7 over 7 days of the window, $1 a day; $3 left.
        var days = Days([.. Enumerable.Range(4, 7).Select(d => (d, Dollar))]);
        var p = BurnRateForecast.Project(7 * Dollar, 70, 10 * Dollar, days, Utc(11), Defaults)!;
        AssertNear(Utc(14), p.ExhaustedAt);
        Assert.Equal(Dollar, p.DailyRateMicros);
        Assert.Equal(17, p.DaysEarly, 6); // November ends on the 1st of December, 00:00
    }

    [Fact]
    public void Spend_before_the_window_counts_in_the_total_but_not_in_the_rate()
    {
        // $20 on the 1st, then $1 a day from the 5th to the 11th (the window: the 4th to the 11th at noon, 7.5 days).
        var days = Days([(1, 20 * Dollar), .. Enumerable.Range(5, 7).Select(d => (d, Dollar))]);
        var p = BurnRateForecast.Project(27 * Dollar, 70, 30 * Dollar, days, Utc(11, 12), Defaults)!;
        Assert.Equal(Dollar * 7 / 7.5, p.DailyRateMicros, 0);
        AssertNear(Utc(11, 12).AddDays(3 * 7.5 / 7), p.ExhaustedAt);
    }

    [Fact]
    public void A_budget_that_lasts_past_the_month_end_is_no_alert() =>
        // $5 a day with $190 left: 38 days, past the 30th.
        Assert.Null(BurnRateForecast.Project(10 * Dollar, 100, 200 * Dollar, Days((1, 5 * Dollar), (2, 5 * Dollar)), Utc(3), Defaults));

    [Fact]
    public void Too_few_events_are_no_rate() =>
        Assert.Null(BurnRateForecast.Project(5 * Dollar, Defaults.MinEvents - 1, 6 * Dollar, Days((2, 5 * Dollar)), Utc(3), Defaults));

    [Fact]
    public void A_spike_in_the_first_hours_of_a_month_is_no_rate_until_a_day_has_passed()
    {
        var days = Days((1, 5 * Dollar));
        Assert.Null(BurnRateForecast.Project(5 * Dollar, 50, 6 * Dollar, days, Utc(1, 3), Defaults));
        Assert.Null(BurnRateForecast.Project(5 * Dollar, 50, 6 * Dollar, days, Utc(1, 23), Defaults));
        // A day of history: $5 a day, $1 left, gone in under 5 hours.
        AssertNear(Utc(2).AddHours(4.8), BurnRateForecast.Project(5 * Dollar, 50, 6 * Dollar, days, Utc(2), Defaults)!.ExhaustedAt);
    }

    [Fact]
    public void A_budget_already_spent_or_none_is_no_forecast()
    {
        var days = Days((2, 6 * Dollar));
        Assert.Null(BurnRateForecast.Project(6 * Dollar, 50, 6 * Dollar, days, Utc(5), Defaults));
        Assert.Null(BurnRateForecast.Project(6 * Dollar, 50, 0, days, Utc(5), Defaults));
    }
}
