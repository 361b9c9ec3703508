using LlmCostTracker.ApiService.Reporting;
using LlmCostTracker.Contracts;
using Microsoft.Extensions.Time.Testing;

namespace LlmCostTracker.Tests.Unit;

public sealed class MonthProjectionTests
{
    private const long Dollar = 1_000_000;

    private static DateTimeOffset Utc(int y, int m, int d, int h = 0) => new(y, m, d, h, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_30_day_month_half_gone_doubles_the_spend()
    {
        var p = MonthProjection.Project(3 * Dollar, 2026, 11, Utc(2026, 11, 16), budgetMicros: 4 * Dollar);
        Assert.Equal(6 * Dollar, p.MonthEndMicros);
        Assert.Equal(Utc(2026, 11, 21), p.BudgetExhaustedAt); // 15 days × 4/3 = 20 days in
    }

    [Fact]
    public void A_budget_reached_exactly_at_month_end_is_not_exhausted_within_the_month() =>
        Assert.Null(MonthProjection.Project(3 * Dollar, 2026, 11, Utc(2026, 11, 16), 6 * Dollar).BudgetExhaustedAt);

    [Fact]
    public void A_28_day_February()
    {
        var p = MonthProjection.Project(1 * Dollar, 2027, 2, Utc(2027, 2, 8), 100 * Dollar);
        Assert.Equal(4 * Dollar, p.MonthEndMicros);
        Assert.Null(p.BudgetExhaustedAt);
    }

    [Fact]
    public void A_29_day_leap_February()
    {
        var p = MonthProjection.Project(1 * Dollar, 2028, 2, Utc(2028, 2, 2), 10 * Dollar);
        Assert.Equal(29 * Dollar, p.MonthEndMicros);
        Assert.Equal(Utc(2028, 2, 11), p.BudgetExhaustedAt);
    }

    [Fact]
    public void A_31_day_December_projects_to_its_own_end_not_into_January()
    {
        var p = MonthProjection.Project(61 * Dollar, 2026, 12, Utc(2026, 12, 31, 12), 61_500_000);
        Assert.Equal(62 * Dollar, p.MonthEndMicros);
        Assert.Equal(Utc(2026, 12, 31, 18), p.BudgetExhaustedAt); // 30.5 days × 61.5/61 = 30.75 days
    }

    [Fact]
    public void January_after_December_starts_from_its_own_first_day()
    {
        var p = MonthProjection.Project(1 * Dollar, 2027, 1, Utc(2027, 1, 2), 100 * Dollar);
        Assert.Equal(31 * Dollar, p.MonthEndMicros);
    }

    [Fact]
    public void A_past_month_projects_its_actual_total()
    {
        var p = MonthProjection.Project(7 * Dollar, 2026, 12, Utc(2027, 1, 1), 1 * Dollar);
        Assert.Equal(7 * Dollar, p.MonthEndMicros);
        Assert.Null(p.BudgetExhaustedAt);
    }

    [Fact]
    public void A_spend_already_over_budget_was_exhausted_in_the_past()
    {
        var now = Utc(2026, 11, 11);
        var p = MonthProjection.Project(10 * Dollar, 2026, 11, now, 5 * Dollar);
        Assert.Equal(Utc(2026, 11, 6), p.BudgetExhaustedAt);
        Assert.True(p.BudgetExhaustedAt < now);
    }

    [Fact]
    public void No_spend_or_no_budget_projects_no_exhaustion()
    {
        Assert.Null(MonthProjection.Project(0, 2026, 11, Utc(2026, 11, 11), 5 * Dollar).BudgetExhaustedAt);
        Assert.Null(MonthProjection.Project(5 * Dollar, 2026, 11, Utc(2026, 11, 11), 0).BudgetExhaustedAt);
    }

    [Fact]
    public void Follows_a_fake_clock_across_the_year_boundary()
    {
        var clock = new FakeTimeProvider(Utc(2026, 12, 16, 12));
        var december = MonthProjection.Project(31 * Dollar, 2026, 12, clock.GetUtcNow(), 0);
        Assert.Equal(62 * Dollar, december.MonthEndMicros);

        clock.Advance(TimeSpan.FromDays(16)); // 2027-01-01T12:00
        Assert.Equal(UsageMonth.Of(clock.GetUtcNow()), new UsageMonth(2027, 1));
        Assert.Equal(31 * Dollar, MonthProjection.Project(31 * Dollar, 2026, 12, clock.GetUtcNow(), 0).MonthEndMicros);
        Assert.Equal(62 * Dollar, MonthProjection.Project(1 * Dollar, 2027, 1, clock.GetUtcNow(), 0).MonthEndMicros);
    }

    [Theory]
    [InlineData("2026-11", true)]
    [InlineData("2026-13", false)]
    [InlineData("2026-00", false)]
    [InlineData("abc", false)]
    [InlineData("2026-1", false)]
    [InlineData("+026-11", false)]
    [InlineData("2026/11", false)]
    public void Month_parameter_is_YYYY_MM(string value, bool valid) =>
        Assert.Equal(valid, UsageMonth.TryParse(value, out _));
}
