using LlmCostTracker.Ledger.Holds;
using LlmCostTracker.Contracts;
using LlmCostTracker.Pricing;
using LlmCostTracker.Ledger.Pricing;
using LlmCostTracker.Ledger;
using LlmCostTracker.WorkerService.Aggregation;
using LlmCostTracker.WorkerService.Chunks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace LlmCostTracker.Tests.Scripts;

/// <summary>Budget holds (the API's script) and their settlement (the worker's ledger script) on a bare cluster-mode
/// redis-server, with a clock the tests move: expiry is decided by the callers' clock, so it needs no waiting.</summary>
public sealed class BudgetHoldScriptTests(BareRedis redis) : IClassFixture<BareRedis>
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private readonly LedgerKeys _keys = new(LedgerKeys.DefaultBuckets);
    private readonly FakeTimeProvider _clock = new(Now);
    private readonly IOptions<BudgetOptions> _budgets = Options.Create(new BudgetOptions { DefaultMonthlyBudgetUsd = 1m, ThresholdsPercent = [80, 100] });

    private BudgetHolds Holds => new(redis.Connection, _keys,
        new PriceBookSource(redis.Connection, new CatalogStore(redis.Connection), Options.Create(new PricingOptions()), _clock, NullLogger<PriceBookSource>.Instance, reportsVersion: false),
        _budgets, _clock);

    private CostLedger Ledger => new(redis.Connection, _keys, _budgets, Options.Create(new LedgerOptions()), _clock);

    private static string NewUser() => $"holds-{Guid.NewGuid():N}";

    /// <summary>gpt-4o, no input: maxOutputTokens × $10 per million, so 10,000 tokens hold $0.10.</summary>
    private static ValidHoldRequest Request(string user, long maxOutputTokens = 10_000, string? holdId = null, int ttlSeconds = 600) =>
        new(holdId ?? Guid.NewGuid().ToString("N"), user, "gpt-4o", 0, maxOutputTokens, null, null, TimeSpan.FromSeconds(ttlSeconds));

    private static PricedUsage Settling(string user, string holdId, long micros, string? eventId = null) =>
        new(new LlmUsage
        {
            EventId = eventId ?? Guid.NewGuid().ToString("N"), UserId = user, Model = "gpt-4o", InputTokens = 0, CachedInputTokens = 0,
            OutputTokens = micros / 10, OccurredAt = Now, HoldId = holdId,
        }, micros);

    private Task EnforceAsync(string user) => redis.Db.StringSetAsync(_keys.UserEnforce(user), "1");

    private Task<long> HeldAsync(string user) => Holds.HeldMicrosAsync(redis.Db, user);

    [Fact]
    public async Task Concurrent_holds_against_an_enforced_budget_admit_exactly_what_fits()
    {
        var user = NewUser();
        await EnforceAsync(user);

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => Holds.HoldAsync(Request(user))));

        Assert.Equal(10, outcomes.Count(o => o is HoldOutcome.Held { IsNew: true }));
        var refused = outcomes.OfType<HoldOutcome.Refused>().ToList();
        Assert.Equal(190, refused.Count);
        Assert.All(refused, r => Assert.Equal(0m, r.RemainingUsd));
        Assert.Equal(1_000_000, await HeldAsync(user));
    }

    [Fact]
    public async Task Settling_releases_the_hold_and_adds_the_real_cost_in_one_step_and_a_redelivery_settles_nothing()
    {
        var user = NewUser();
        await EnforceAsync(user);
        var granted = Enumerable.Range(0, 10).Select(i => Request(user, holdId: $"h{i}-{user}")).ToList();
        foreach (var hold in granted)
        {
            Assert.IsType<HoldOutcome.Held>(await Holds.HoldAsync(hold));
        }

        var events = granted.Select(h => Settling(user, h.HoldId, 50_000)).ToList();
        var applied = await Ledger.ApplyAsync(events);
        var redelivered = await Ledger.ApplyAsync(events);

        Assert.Equal(10, applied.Applied);
        Assert.Equal(10, redelivered.Duplicates);
        Assert.Equal(0, await HeldAsync(user));
        Assert.Equal(500_000, (long)await redis.Db.HashGetAsync(_keys.UserMonth(user, UsageMonth.Of(Now).Key), LedgerKeys.Cost));
        var half = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => Holds.HoldAsync(Request(user, maxOutputTokens: 5_000))));
        Assert.Equal(10, half.Count(o => o is HoldOutcome.Held));
        var remaining = Assert.IsType<HoldOutcome.Held>(half.First(o => o is HoldOutcome.Held)).Hold.RemainingUsd;
        Assert.InRange(remaining!.Value, 0m, 0.45m);
        Assert.Equal(500_000, await HeldAsync(user));
    }

    [Fact]
    public async Task An_expired_hold_frees_its_amount_and_its_late_event_still_counts_once()
    {
        var user = NewUser();
        await EnforceAsync(user);
        var hold = Request(user, maxOutputTokens: 100_000, ttlSeconds: 60);
        var granted = Assert.IsType<HoldOutcome.Held>(await Holds.HoldAsync(hold));
        Assert.Equal(1.00m, granted.Hold.HeldUsd);
        Assert.Equal(0m, granted.Hold.RemainingUsd);
        Assert.IsType<HoldOutcome.Refused>(await Holds.HoldAsync(Request(user, maxOutputTokens: 1)));

        _clock.Advance(TimeSpan.FromSeconds(61));

        Assert.Equal(0, await HeldAsync(user));
        var late = Settling(user, hold.HoldId, 300_000);
        Assert.Equal(1, (await Ledger.ApplyAsync([late])).Applied);
        Assert.Equal(1, (await Ledger.ApplyAsync([late])).Duplicates);
        Assert.Equal(0, await HeldAsync(user));
        Assert.Equal(300_000, (long)await redis.Db.HashGetAsync(_keys.UserMonth(user, UsageMonth.Of(Now).Key), LedgerKeys.Cost));
        var after = Assert.IsType<HoldOutcome.Held>(await Holds.HoldAsync(Request(user, maxOutputTokens: 70_000)));
        Assert.Equal(0m, after.Hold.RemainingUsd);
    }

    [Fact]
    public async Task A_hold_is_idempotent_on_its_id_and_an_id_belongs_to_one_user()
    {
        var user = NewUser();
        var hold = Request(user);

        var first = Assert.IsType<HoldOutcome.Held>(await Holds.HoldAsync(hold));
        var again = Assert.IsType<HoldOutcome.Held>(await Holds.HoldAsync(hold));
        var other = await Holds.HoldAsync(hold with { UserId = NewUser() });

        Assert.True(first.IsNew);
        Assert.False(again.IsNew);
        Assert.Equal(first.Hold.ExpiresAt, again.Hold.ExpiresAt);
        Assert.Equal(100_000, await HeldAsync(user));
        Assert.IsType<HoldOutcome.Conflict>(other);
    }

    [Fact]
    public async Task A_released_hold_frees_its_amount_once_and_a_settled_one_cannot_be_released()
    {
        var user = NewUser();
        var released = Request(user);
        var settled = Request(user);
        Assert.IsType<HoldOutcome.Held>(await Holds.HoldAsync(released));
        Assert.IsType<HoldOutcome.Held>(await Holds.HoldAsync(settled));
        Assert.Equal(1, (await Ledger.ApplyAsync([Settling(user, settled.HoldId, 40_000)])).Applied);

        Assert.Equal(BudgetHoldCall.Released, await Holds.ReleaseAsync(released.HoldId));
        Assert.Equal(BudgetHoldCall.Released, await Holds.ReleaseAsync(released.HoldId));
        Assert.Equal(BudgetHoldCall.Settled, await Holds.ReleaseAsync(settled.HoldId));
        Assert.Equal(BudgetHoldCall.Unknown, await Holds.ReleaseAsync("never-granted"));
        Assert.Equal(0, await HeldAsync(user));
    }

    [Fact]
    public async Task A_user_whose_budget_is_not_enforced_is_always_granted_and_the_hold_is_tracked()
    {
        var user = NewUser();

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Holds.HoldAsync(Request(user))));

        Assert.All(outcomes, o => Assert.False(Assert.IsType<HoldOutcome.Held>(o).Hold.Enforced));
        Assert.Equal(2_000_000, await HeldAsync(user));
    }
}
