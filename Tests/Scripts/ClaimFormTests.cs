using LlmCostTracker.Contracts;
using LlmCostTracker.Ledger;
using LlmCostTracker.WorkerService.Aggregation;
using LlmCostTracker.WorkerService.Budgets;
using LlmCostTracker.WorkerService.Chunks;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace LlmCostTracker.Tests.Scripts;

/// <summary>The change of the claim's form (<see cref="ClaimWindow"/>): a ledger written before it keeps counting
/// each event once, and a new ledger never pays for the older form. On a bare cluster-mode redis-server.</summary>
public sealed class ClaimFormTests(BareRedis redis) : IClassFixture<BareRedis>
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private static readonly TimeSpan Window = TimeSpan.FromHours(1);
    private readonly LedgerKeys _keys = new(LedgerKeys.DefaultBuckets);
    private readonly FakeTimeProvider _clock = new(Now);

    private CostLedger LedgerWith(ClaimWindow claims) => new(redis.Connection, _keys, Options.Create(new BudgetOptions { DefaultMonthlyBudgetUsd = 1m }),
        Options.Create(new LedgerOptions { DedupWindow = Window }), _clock, claims: claims);

    private static ClaimWindow Changing(DateTimeOffset since)
    {
        var claims = new ClaimWindow(Window);
        claims.FormChangedAt(since);
        return claims;
    }

    private static PricedUsage Event(string user, string eventId) =>
        new(new LlmUsage { EventId = eventId, UserId = user, Model = "gpt-4o", InputTokens = 100, CachedInputTokens = 0, OutputTokens = 50, OccurredAt = Now }, 1_000);

    private static string NewUser() => $"form-{Guid.NewGuid():N}";

    private RedisKey ClaimSet(ClaimWindow claims, string user, DateTimeOffset at) => _keys.Claims(_keys.BucketOf(user), claims.KeyPart(claims.PeriodOf(at)));

    [Fact]
    public async Task An_event_claimed_in_the_older_form_counts_once_while_the_form_changes()
    {
        var user = NewUser();
        var claims = Changing(Now);
        // As a worker of the older version left it, a period ago: only the older form.
        Assert.True(await redis.Db.SetAddAsync(ClaimSet(claims, user, Now - claims.Period), ClaimWindow.LegacyDigest(user, "old")));

        var result = await LedgerWith(claims).ApplyAsync([Event(user, "old"), Event(user, "new"), Event(user, "new")]);

        Assert.Equal([true, false, true], result.Duplicate);
        Assert.Equal(1_000, (long)await redis.Db.HashGetAsync(_keys.UserMonth(user, UsageMonth.Of(Now).Key), LedgerKeys.Cost));
    }

    [Fact]
    public async Task While_the_form_changes_both_forms_are_taken_so_either_version_finds_the_event()
    {
        var user = NewUser();
        var claims = Changing(Now);

        Assert.Equal(1, (await LedgerWith(claims).ApplyAsync([Event(user, "e")])).Applied);

        var set = ClaimSet(claims, user, Now);
        Assert.True(await redis.Db.SetContainsAsync(set, ClaimWindow.Digest(user, "e")));
        Assert.True(await redis.Db.SetContainsAsync(set, ClaimWindow.LegacyDigest(user, "e")));
        // Once the change is over, the current form alone still finds it.
        var after = new ClaimWindow(Window);
        Assert.Equal(0, (await LedgerWith(after).ApplyAsync([Event(user, "e")])).Applied);
    }

    [Fact]
    public async Task After_the_change_only_the_current_form_is_taken()
    {
        var user = NewUser();
        var claims = Changing(Now - Window - Window / 4);
        Assert.False(claims.BothFormsAt(Now));

        Assert.Equal(1, (await LedgerWith(claims).ApplyAsync([Event(user, "e")])).Applied);

        // The set is the bucket's for the period, shared with this class's other users: its members are asked, not counted.
        var set = ClaimSet(claims, user, Now);
        Assert.True(await redis.Db.SetContainsAsync(set, ClaimWindow.Digest(user, "e")));
        Assert.False(await redis.Db.SetContainsAsync(set, ClaimWindow.LegacyDigest(user, "e")));
    }

    [Fact]
    public async Task The_layout_check_records_when_a_ledger_first_met_the_current_form()
    {
        var db = redis.Db;
        var keys = new LedgerKeys(LedgerKeys.DefaultBuckets);
        await db.KeyDeleteAsync([LedgerKeys.LayoutKey, LedgerKeys.ClaimFormKey]);
        Assert.False(await db.KeyExistsAsync(LedgerKeys.LayoutKey));

        // A new ledger: the current form since it began, never both.
        var fresh = new ClaimWindow(Window);
        Assert.Null(await LedgerLayoutCheck.ClaimAsync(db, keys, fresh, _clock));
        Assert.Equal("0", (string?)await db.StringGetAsync(LedgerKeys.ClaimFormKey));
        Assert.Equal(DateTimeOffset.MinValue, fresh.BothFormsUntil);

        // A ledger written by the older version (its layout, no form yet): both forms from the first start on.
        Assert.True(await db.KeyDeleteAsync(LedgerKeys.ClaimFormKey));
        var upgraded = new ClaimWindow(Window);
        Assert.Equal("16", await LedgerLayoutCheck.ClaimAsync(db, keys, upgraded, _clock));
        var since = DateTimeOffset.FromUnixTimeSeconds(Now.ToUnixTimeSeconds());
        Assert.Equal(since + upgraded.Window + upgraded.Period, upgraded.BothFormsUntil);

        // Later starts keep the first one's time.
        _clock.Advance(TimeSpan.FromHours(2));
        var later = new ClaimWindow(Window);
        Assert.Equal("16", await LedgerLayoutCheck.ClaimAsync(db, keys, later, _clock));
        Assert.Equal(upgraded.BothFormsUntil, later.BothFormsUntil);
        Assert.False(later.BothFormsAt(_clock.GetUtcNow()));
    }
}
