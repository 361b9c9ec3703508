using System.Diagnostics.Metrics;
using LlmCostTracker.Contracts;
using LlmCostTracker.Ledger;
using LlmCostTracker.WorkerService.Aggregation;
using LlmCostTracker.WorkerService.Attribution;
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
    private static readonly DateTimeOffset MonthStart = UsageMonth.Of(DateTimeOffset.UtcNow).Start;

    public async Task InitializeAsync()
    {
        _provider = new ServiceCollection().AddMassTransitTestHarness().BuildServiceProvider(true);
        _bus = _provider.GetRequiredService<ITestHarness>();
        await _bus.Start();
    }

    public async Task DisposeAsync() => await _provider.DisposeAsync();

    private ForecastScanner Scanner(TimeProvider clock) => new(redis.Connection, _keys, _bus.Bus, Options.Create(new ForecastOptions()),
        Options.Create(new BudgetOptions()), Attribution, clock, NullLogger<ForecastScanner>.Instance);

    private static IOptions<AttributionOptions> Attribution
    {
        get
        {
            var options = Options.Create(new AttributionOptions());
            options.Value.Normalize();
            return options;
        }
    }

    /// <summary>Counts <paramref name="count"/> events of <paramref name="micros"/> each for the user at
    /// <paramref name="at"/>, through the ledger's own write.</summary>
    private async Task SpendAsync(string user, int count, long micros, DateTimeOffset at, string? team = null)
    {
        var ledger = new CostLedger(redis.Connection, _keys, Options.Create(new BudgetOptions { ThresholdsPercent = [80, 100] }), Options.Create(new LedgerOptions()), new FakeTimeProvider(at));
        var events = Enumerable.Range(0, count).Select(_ => new PricedUsage(new LlmUsage
        {
            EventId = Guid.NewGuid().ToString("N"), UserId = user, Model = "gpt-4o", InputTokens = 1, CachedInputTokens = 0, OutputTokens = 1, OccurredAt = at,
            Tags = team is null ? null : new Dictionary<string, string> { ["team"] = team },
        }, micros)).ToList();
        var result = await ledger.ApplyAsync(events);
        Assert.Equal(count, result.Applied);
    }

    /// <summary>Folds every bucket's tag deltas into the tag values, as the worker's folder does.</summary>
    private async Task FoldAsync()
    {
        await using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<IMeterFactory>();
        // No threshold is reached by these tests' spend, so the fold's budget check publishes nothing: no bus.
        var budgets = Options.Create(new BudgetOptions { ThresholdsPercent = [100] });
        var tags = new TagAttribution(redis.Connection, _keys, null!, Attribution, budgets, meters, TimeProvider.System, NullLogger<TagAttribution>.Instance);
        var folder = new TagFolder(redis.Connection, _keys, tags, Attribution, meters, NullLogger<TagFolder>.Instance);
        for (var bucket = 0; bucket < _keys.Buckets; bucket++)
        {
            while (await redis.Db.ListLengthAsync(_keys.TagDeltas(bucket)) > 0)
            {
                await folder.FoldAsync(bucket);
            }
        }
    }

    private IReadOnlyList<TagBudgetForecastExhausted> PublishedFor(string team) =>
        [.. _bus.Published.Select<TagBudgetForecastExhausted>().Select(m => m.Context.Message).Where(m => m.Dimension == "team" && m.Value == team)];

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
        Assert.Equal(UsageMonth.Of(MonthStart).Key, alert.Month);

        // Once a month: later scans, and another scanner (a second replica), find the claim.
        clock.Advance(TimeSpan.FromHours(1));
        await scanner.ScanAsync(CancellationToken.None);
        await Scanner(clock).ScanAsync(CancellationToken.None);
        Assert.Single(Published(user));
        var claim = await redis.Db.HashGetAsync(_keys.UserMonth(user, UsageMonth.Of(MonthStart).Key), LedgerKeys.ForecastField);
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

    [Fact]
    public async Task A_tag_value_with_a_budget_is_projected_over_all_its_users_buckets_once_a_month()
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        string fast = $"fast-{run}", slow = $"slow-{run}", unbudgeted = $"none-{run}";
        var month = UsageMonth.Of(MonthStart).Key;
        // $6 of a $10 budget on the 1st, spread over 12 users (so over several buckets), a dollar an hour from 02:00:
        // $6 a day at the scan on the 2nd runs out the last $4 in 16 hours. The same spend without a budget, and 10
        // cents under a budget of $10 (10 cents a day lasts the month), are no alert.
        for (var i = 0; i < 12; i++)
        {
            await SpendAsync($"tag-{run}-{i}", 1, Dollar / 2, MonthStart.AddHours(2 + i / 2), fast);
            await SpendAsync($"tag-{run}-{i}", 1, Dollar / 2, MonthStart.AddHours(2 + i / 2), unbudgeted);
            await SpendAsync($"tag-{run}-{i}", 1, Dollar / 120, MonthStart.AddHours(2), slow);
        }

        await FoldAsync();
        var buckets = Enumerable.Range(0, _keys.Buckets).Count(b => redis.Db.KeyExists(_keys.TagValue(b, "team", month, fast)));
        Assert.True(buckets > 1, $"the value's month is in {buckets} bucket(s)");
        await redis.Db.StringSetAsync(LedgerKeys.TagBudget("team", fast), 10 * Dollar);
        await redis.Db.StringSetAsync(LedgerKeys.TagBudget("team", slow), 10 * Dollar);

        var clock = new FakeTimeProvider(MonthStart.AddDays(1));
        await Scanner(clock).ScanAsync(CancellationToken.None);
        var alert = Assert.Single(PublishedFor(fast));
        Assert.Equal(month, alert.Month);
        Assert.Equal(6m, alert.SpentUsd);
        Assert.Equal(10m, alert.BudgetUsd);
        Assert.Equal(6m, alert.DailyRateUsd, 2);
        Assert.InRange(alert.ProjectedExhaustedAt, MonthStart.AddHours(40).AddSeconds(-1), MonthStart.AddHours(40).AddSeconds(1));
        Assert.Empty(PublishedFor(slow));
        Assert.Empty(PublishedFor(unbudgeted));

        // Claimed for the month, expiring with it: later scans and a second replica send nothing more.
        var claim = LedgerKeys.TagForecast("team", month, fast);
        Assert.Equal(LedgerKeys.ForecastClaim(alert.ProjectedExhaustedAt, clock.GetUtcNow()), (await redis.Db.StringGetAsync(claim)).ToString());
        Assert.NotNull(await redis.Db.KeyTimeToLiveAsync(claim));
        clock.Advance(TimeSpan.FromHours(1));
        await Scanner(clock).ScanAsync(CancellationToken.None);
        Assert.Single(PublishedFor(fast));
    }
}
