using LlmCostTracker.Contracts;
using LlmCostTracker.Ledger;
using LlmCostTracker.WorkerService.Aggregation;
using LlmCostTracker.WorkerService.Budgets;
using LlmCostTracker.WorkerService.Chunks;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace LlmCostTracker.Tests.Scripts;

/// <summary>The forecast scanner against months the ledger wrote on a bare redis-server, with a fake clock and a real
/// in-memory bus: the guards of the defaults (a day of history, ten events) and once per user and month.</summary>
public sealed class ForecastScannerTests(BareRedis redis) : IClassFixture<BareRedis>, IAsyncLifetime
{
    private const long Dollar = 1_000_000;
    private readonly LedgerKeys _keys = new(LedgerKeys.DefaultBuckets);
    private ServiceProvider _provider = null!;
    private ITestHarness _bus = null!;

    // Days of the real current month, so the ledger's keys expire after the test, not before it.
    private static readonly DateTimeOffset MonthStart = LedgerMonth.Of(DateTimeOffset.UtcNow).Start;

    public async Task InitializeAsync()
    {
        _provider = new ServiceCollection().AddMassTransitTestHarness().BuildServiceProvider(true);
        _bus = _provider.GetRequiredService<ITestHarness>();
        await _bus.Start();
    }

    public async Task DisposeAsync() => await _provider.DisposeAsync();

    private ForecastScanner Scanner(TimeProvider clock) => new(redis.Connection, _keys, _bus.Bus, Options.Create(new ForecastOptions()),
        Options.Create(new BudgetOptions()), clock, NullLogger<ForecastScanner>.Instance);

    /// <summary>Counts <paramref name="count"/> events of <paramref name="micros"/> each for the user at
    /// <paramref name="at"/>, through the ledger's own write.</summary>
    private async Task SpendAsync(string user, int count, long micros, DateTimeOffset at)
    {
        var ledger = new CostLedger(redis.Connection, _keys, Options.Create(new BudgetOptions { ThresholdsPercent = [80, 100] }), Options.Create(new LedgerOptions()), new FakeTimeProvider(at));
        var events = Enumerable.Range(0, count).Select(_ => new PricedUsage(new LlmUsage
        {
            EventId = Guid.NewGuid().ToString("N"), UserId = user, Model = "gpt-4o", InputTokens = 1, CachedInputTokens = 0, OutputTokens = 1, OccurredAt = at,
        }, micros)).ToList();
        var result = await ledger.ApplyAsync(events);
        Assert.Equal(count, result.Applied);
    }

    private IReadOnlyList<BudgetForecastExhausted> Published(string user) =>
        [.. _bus.Published.Select<BudgetForecastExhausted>().Select(m => m.Context.Message).Where(m => m.UserId == user)];

    [Fact]
    public async Task A_spike_in_the_first_hours_of_the_month_waits_for_a_day_of_history_then_warns_once()
    {
        var user = $"forecast-spike-{Guid.NewGuid():N}";
        // $5 of the default $6 in 12 events at 01:00 on the 1st.
        await SpendAsync(user, 12, 5 * Dollar / 12, MonthStart.AddHours(1));
        var clock = new FakeTimeProvider(MonthStart.AddHours(3));
        var scanner = Scanner(clock);

        await scanner.ScanAsync(CancellationToken.None);
        clock.Advance(TimeSpan.FromHours(20));
        await scanner.ScanAsync(CancellationToken.None);
        Assert.Empty(Published(user));

        // A day after the 1st began: $5 a day, the last dollar goes in under 5 hours.
        clock.SetUtcNow(MonthStart.AddDays(1));
        await scanner.ScanAsync(CancellationToken.None);
        var alert = Assert.Single(Published(user));
        Assert.InRange(alert.ProjectedExhaustedAt, MonthStart.AddHours(28.8).AddSeconds(-1), MonthStart.AddHours(28.8).AddSeconds(1));
        Assert.Equal(5m, alert.DailyRateUsd, 2);
        Assert.Equal(5m, alert.SpentUsd, 2);
        Assert.Equal(6m, alert.BudgetUsd);
        Assert.Equal(LedgerMonth.Of(MonthStart).Key, alert.Month);

        // Once a month: later scans, and another scanner (a second replica), find the claim.
        clock.Advance(TimeSpan.FromHours(1));
        await scanner.ScanAsync(CancellationToken.None);
        await Scanner(clock).ScanAsync(CancellationToken.None);
        Assert.Single(Published(user));
        var claim = await redis.Db.HashGetAsync(_keys.UserMonth(user, LedgerMonth.Of(MonthStart).Key), LedgerKeys.ForecastField);
        Assert.StartsWith($"{LedgerKeys.AlertSent}|{alert.ProjectedExhaustedAt.ToUnixTimeMilliseconds()}|", claim.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Too_few_events_and_a_budget_that_lasts_are_no_alert()
    {
        var few = $"forecast-few-{Guid.NewGuid():N}";
        var slow = $"forecast-slow-{Guid.NewGuid():N}";
        await SpendAsync(few, 9, 5 * Dollar / 9, MonthStart.AddHours(1));
        // 20 cents over the 1st: 20 cents a day lasts past the month's end.
        await SpendAsync(slow, 20, Dollar / 100, MonthStart.AddHours(1));
        await Scanner(new FakeTimeProvider(MonthStart.AddDays(1.5))).ScanAsync(CancellationToken.None);
        Assert.Empty(Published(few));
        Assert.Empty(Published(slow));
    }
}
