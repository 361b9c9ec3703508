using LlmCostTracker.Contracts;
using LlmCostTracker.History.Repricing;
using LlmCostTracker.History.Rollups;
using LlmCostTracker.Ledger;
using LlmCostTracker.WorkerService.Aggregation;
using LlmCostTracker.WorkerService.Budgets;
using LlmCostTracker.WorkerService.Chunks;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace LlmCostTracker.Tests.Scripts;

/// <summary>The ledger's scripts, through their codecs, against a bare cluster-mode redis-server.</summary>
public sealed class LedgerScriptTests(BareRedis redis) : IClassFixture<BareRedis>
{
    // Real time: Redis expires keys by its own clock, so the months written must be current ones.
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private static readonly string ThisMonth = UsageMonth.Of(Now).Key;
    private static readonly string LastMonth = UsageMonth.Of(Now.AddMonths(-1)).Key;
    private static readonly IOptions<BudgetOptions> Budgets = Options.Create(new BudgetOptions { DefaultMonthlyBudgetUsd = 1m, ThresholdsPercent = [80, 100] });
    private static readonly TimeSpan Window = TimeSpan.FromHours(1);
    private readonly LedgerKeys _keys = new(LedgerKeys.DefaultBuckets);
    private readonly ClaimWindow _claims = new(Window);

    /// <summary>The worker's clock, moved by the window tests (arrival is the clock's now, not occurredAt).</summary>
    private readonly FakeTimeProvider _clock = new(Now);

    private CostLedger Ledger => new(redis.Connection, _keys, Budgets, Options.Create(new LedgerOptions { DedupWindow = Window }), _clock);

    private static PricedUsage Event(string user, long micros, string? eventId = null, DateTimeOffset? at = null, string model = "gpt-4o") =>
        new(new LlmUsage
        {
            EventId = eventId ?? Guid.NewGuid().ToString("N"), UserId = user, Model = model, InputTokens = 100, CachedInputTokens = 10,
            OutputTokens = 50, OccurredAt = at ?? Now,
        }, micros);

    private static string NewUser() => $"script-{Guid.NewGuid():N}";

    private async Task<long> CostAsync(string user, string? month = null) =>
        (long)await redis.Db.HashGetAsync(_keys.UserMonth(user, month ?? ThisMonth), LedgerKeys.Cost);

    [Fact]
    public async Task A_replayed_claim_counts_once()
    {
        var user = NewUser();
        PricedUsage[] events = [Event(user, 1_000, "a"), Event(user, 2_000, "b"), Event(user, 3_000, "c")];

        var first = await Ledger.ApplyAsync(events);
        var replay = await Ledger.ApplyAsync([events[1], Event(user, 4_000, "d"), events[2], events[1]]);

        Assert.Equal(3, first.Applied);
        Assert.Equal([true, false, true, true], replay.Duplicate);
        Assert.Equal(10_000, await CostAsync(user));
        Assert.Equal(4, (long)await redis.Db.HashGetAsync(_keys.UserMonth(user, ThisMonth), LedgerKeys.Requests));
        Assert.Equal(10_000, await redis.Db.SortedSetScoreAsync(_keys.MonthUsers(_keys.BucketOf(user), ThisMonth), user));
        var model = LedgerKeys.ParseModelCounters((await redis.Db.HashGetAsync(_keys.UserMonth(user, ThisMonth), LedgerKeys.ModelField("gpt-4o")))!);
        Assert.Equal([10_000, 400, 40, 200, 4, 0, 0], model);
    }

    [Fact]
    public async Task A_user_whose_call_changes_more_fields_than_one_write_takes_gets_every_one()
    {
        // 1,200 models in one call: the user's write is sent in slices of 1,000 fields (Lua's unpack has a limit).
        var user = NewUser();
        var events = Enumerable.Range(0, 1_200).Select(m => Event(user, 1_000, model: $"slice-model-{m}")).ToArray();

        var result = await Ledger.ApplyAsync(events);

        Assert.Equal(1_200, result.Applied);
        Assert.Equal(1_200_000, await CostAsync(user));
        Assert.Equal(1_200, (long)await redis.Db.HashGetAsync(_keys.UserMonth(user, ThisMonth), LedgerKeys.Requests));
        foreach (var m in new[] { 0, 999, 1_000, 1_199 })
        {
            var model = LedgerKeys.ParseModelCounters((await redis.Db.HashGetAsync(_keys.UserMonth(user, ThisMonth), LedgerKeys.ModelField($"slice-model-{m}")))!);
            Assert.Equal([1_000, 100, 10, 50, 1, 0, 0], model);
        }
    }

    [Fact]
    public async Task A_call_mixing_new_events_and_duplicates_adds_a_rollup_entry_that_reads_as_the_new_events_alone()
    {
        var user = NewUser();
        var other = NewUser();
        var tagged = Event(other, 4_000, "c");
        tagged = tagged with { Usage = tagged.Usage with { Tags = new Dictionary<string, string> { ["team"] = "search" } } };
        PricedUsage[] first = [Event(user, 1_000, "a")];
        // "a" again beside a new event, and "c" twice in one call: each call counts its new events and lists its duplicates.
        PricedUsage[] second = [first[0], Event(user, 2_000, "b"), tagged, tagged];

        await ApplyWithRollupsAsync(first);
        var duplicates = await ApplyWithRollupsAsync(second);

        Assert.Equal(2, duplicates);
        Assert.Equal(3_000, await CostAsync(user));
        Assert.Equal(4_000, await CostAsync(other));
        var read = new RollupDelta();
        foreach (var bucket in new[] { _keys.BucketOf(user), _keys.BucketOf(other) }.Distinct())
        {
            foreach (var entry in await redis.Db.StreamRangeAsync(_keys.RollupStream(bucket)))
            {
                var taken = entry[LedgerKeys.RollupDuplicatesField];
                read.AddEncoded((byte[])entry[LedgerKeys.RollupStreamField]!, taken.IsNull ? default : (byte[])taken!);
            }
        }

        var rows = read.Usage.Where(r => r.Key.UserId == user || r.Key.UserId == other).ToDictionary(r => r.Key.UserId, r => r.Value);
        Assert.Equal((2, 3_000, 200, 20, 100), (rows[user].Requests, rows[user].CostMicros, rows[user].Input, rows[user].Cached, rows[user].Output));
        Assert.Equal((1, 4_000, 100), (rows[other].Requests, rows[other].CostMicros, rows[other].Input));
        var tag = Assert.Single(read.Tags, t => t.Key is { Dimension: "team", Value: "search" });
        Assert.Equal((1, 4_000), (tag.Value.Requests, tag.Value.CostMicros));
    }

    /// <summary>Applies <paramref name="events"/> as the worker does with history on (each call adds its rollup
    /// delta); returns how many were duplicates.</summary>
    private async Task<int> ApplyWithRollupsAsync(PricedUsage[] events)
    {
        var duplicates = 0;
        foreach (var chunk in LedgerChunk.Plan(_keys, events, CostLedger.ChunkEvents))
        {
            var call = ApplyUsageCall.Encode(_keys, chunk, events, 1_000_000, [80, 100], _claims, _clock.GetUtcNow(), rollups: true);
            duplicates += ApplyUsageCall.Decode(await ApplyUsageCall.Script.EvaluateAsync(redis.Db, call.Keys, call.Args)).DuplicatePositions.Count;
        }

        return duplicates;
    }

    [Fact]
    public async Task The_ranking_holds_each_users_month_cost_as_the_hash_does_after_a_reprice_too()
    {
        var user = NewUser();
        var ranking = _keys.MonthUsers(_keys.BucketOf(user), ThisMonth);
        Assert.Equal(1, (await Ledger.ApplyAsync([Event(user, 1_000)])).Applied);
        var correction = Assert.Single(RepriceLedgerCall.Encode(_keys, Random.Shared.NextInt64(1, long.MaxValue),
            [new LedgerCorrection(user, "gpt-4o", DateOnly.FromDateTime(Now.UtcDateTime), 250)], perCall: 1_000, Now));
        Assert.Equal(1L, RepriceLedgerCall.Decode(await RepriceLedgerCall.Script.EvaluateAsync(redis.Db, correction.Keys, correction.Args)));

        Assert.Equal(1, (await Ledger.ApplyAsync([Event(user, 500)])).Applied);
        Assert.Equal(1_750, await CostAsync(user));
        Assert.Equal(1_750, await redis.Db.SortedSetScoreAsync(ranking, user));

        // A score that disagrees with the hash (written by a version that kept them apart) is set right by the next write.
        Assert.False(await redis.Db.SortedSetAddAsync(ranking, user, 3));
        Assert.Equal(1, (await Ledger.ApplyAsync([Event(user, 10)])).Applied);
        Assert.Equal(1_760, await redis.Db.SortedSetScoreAsync(ranking, user));
    }

    [Fact]
    public async Task A_failed_write_consumes_no_claim()
    {
        var user = NewUser();
        var other = NewUser();
        // A user-month key of the wrong type makes the call fail on its reads, before any write.
        await redis.Db.StringSetAsync(_keys.UserMonth(user, ThisMonth), "not a hash");
        var events = new[] { Event(user, 1_000, "x") };

        await Assert.ThrowsAsync<RedisServerException>(() => Ledger.ApplyAsync(events));

        var claims = _keys.Claims(_keys.BucketOf(user), _claims.KeyPart(_claims.PeriodOf(_clock.GetUtcNow())));
        Assert.False(await redis.Db.SetContainsAsync(claims, ClaimWindow.Digest(user, "x")));
        Assert.True(await redis.Db.KeyDeleteAsync(_keys.UserMonth(user, ThisMonth)));
        var retried = await Ledger.ApplyAsync([.. events, Event(other, 5)]);
        Assert.Equal(2, retried.Applied);
        Assert.Equal(1_000, await CostAsync(user));
        Assert.True(await redis.Db.SetContainsAsync(claims, ClaimWindow.Digest(user, "x")));
    }

    [Fact]
    public void Every_call_holds_the_keys_of_one_slot_only()
    {
        var events = Enumerable.Range(0, 3_000)
            .Select(i => Event($"user-{i % 300}", 7, at: i % 3 == 0 ? Now.AddMonths(-1) : Now))
            .ToArray();

        var chunks = LedgerChunk.Plan(_keys, events, CostLedger.ChunkEvents);

        Assert.True(chunks.Count >= 2 * _keys.Buckets, $"{chunks.Count} calls");
        Assert.Equal(events.Length, chunks.Sum(c => c.EventCount));
        foreach (var chunk in chunks)
        {
            var call = ApplyUsageCall.Encode(_keys, chunk, events, 1_000_000, [80, 100], _claims, Now);
            Assert.Single(call.Keys.Select(k => redis.Connection.HashSlot(k)).Distinct());
        }
    }

    [Fact]
    public async Task A_write_across_buckets_and_months_lands_on_a_cluster_with_exact_totals()
    {
        var users = Enumerable.Range(0, 200).Select(_ => NewUser()).ToArray();
        var events = Enumerable.Range(0, 5_000)
            .Select(i => Event(users[i % users.Length], 3, at: i % 2 == 0 ? Now.AddMonths(-1) : Now))
            .ToArray();
        string[] months = [LastMonth, ThisMonth];
        var before = await Task.WhenAll(months.Select(MonthCostAsync));

        var result = await Ledger.ApplyAsync(events);

        Assert.Equal(events.Length, result.Applied);
        foreach (var user in users)
        {
            // 25 events a user, 3 µ$ each, split over the two months.
            Assert.Equal(75, await CostAsync(user, LastMonth) + await CostAsync(user));
        }

        // The buckets' shares of each month add up to the whole.
        var after = await Task.WhenAll(months.Select(MonthCostAsync));
        Assert.Equal([2_500 * 3, 2_500 * 3], after.Zip(before, (a, b) => a - b));
    }

    private async Task<long> MonthCostAsync(string month)
    {
        var total = 0L;
        for (var bucket = 0; bucket < _keys.Buckets; bucket++)
        {
            total += (long)await redis.Db.HashGetAsync(_keys.MonthTotals(bucket, month), LedgerKeys.Cost);
        }

        return total;
    }

    [Fact]
    public async Task An_event_re_posted_inside_the_window_counts_once_and_just_after_it_counts_again()
    {
        var user = NewUser();
        var events = new[] { Event(user, 1_000, "w") };
        Assert.Equal(1, (await Ledger.ApplyAsync(events)).Applied);

        _clock.Advance(Window - TimeSpan.FromSeconds(1));
        Assert.Equal(1, (await Ledger.ApplyAsync(events)).Duplicates);

        // Forgotten at the latest a period after the window: the set it was claimed in is no longer read.
        _clock.Advance(_claims.Period + TimeSpan.FromSeconds(2));
        Assert.Equal(1, (await Ledger.ApplyAsync(events)).Applied);
        Assert.Equal(2_000, await CostAsync(user));
    }

    [Fact]
    public async Task A_late_event_is_deduplicated_for_the_window_from_its_arrival()
    {
        var user = NewUser();
        var late = new[] { Event(user, 1_000, "late", at: _clock.GetUtcNow().AddDays(-30)) };
        var month = UsageMonth.Of(late[0].Usage.OccurredAt).Key;
        Assert.Equal(1, (await Ledger.ApplyAsync(late)).Applied);

        _clock.Advance(Window - TimeSpan.FromMinutes(1));
        Assert.Equal(1, (await Ledger.ApplyAsync(late)).Duplicates);
        Assert.Equal(1_000, await CostAsync(user, month));
    }

    [Fact]
    public async Task Claims_are_digests_in_sets_that_expire_a_window_after_their_period()
    {
        var user = NewUser();
        await Ledger.ApplyAsync([Event(user, 1, "ttl")]);

        var period = _claims.PeriodOf(_clock.GetUtcNow());
        var key = _keys.Claims(_keys.BucketOf(user), _claims.KeyPart(period));
        Assert.True(await redis.Db.SetContainsAsync(key, ClaimWindow.Digest(user, "ttl")));
        Assert.Equal(16, ClaimWindow.Digest(user, "ttl").Length);
        var ttl = await redis.Db.KeyTimeToLiveAsync(key);
        Assert.NotNull(ttl);
        // The window after the period ends: between one window and a window and a period from now.
        var expected = _claims.ExpiresAt(period) - DateTimeOffset.UtcNow;
        Assert.InRange(ttl.Value, expected - TimeSpan.FromSeconds(5), expected + TimeSpan.FromSeconds(1));
        Assert.InRange(ttl.Value, Window - TimeSpan.FromSeconds(5), Window + _claims.Period);
    }

    [Fact]
    public async Task Thresholds_fire_once_at_the_event_that_crosses_them_and_a_redelivery_hands_back_the_pending_ones()
    {
        var user = NewUser();
        // Budget $1 (1,000,000 µ$): 80% is crossed by the third event, 100% by the fourth.
        PricedUsage[] events = [Event(user, 300_000), Event(user, 300_000), Event(user, 300_000), Event(user, 300_000)];

        var result = await Ledger.ApplyAsync(events);

        Assert.Equal([(80, 2, 900_000L), (100, 3, 1_200_000L)], result.Alerts.Select(a => (a.ThresholdPercent, a.EventIndex!.Value, a.SpentMicros)));
        var again = await Ledger.ApplyAsync(events);
        Assert.All(again.Duplicate, Assert.True);
        // Neither alert was marked sent: the redelivery hands both back, with no crossing event but its time.
        Assert.Equal([(80, (int?)null), (100, null)], again.Alerts.Select(a => (a.ThresholdPercent, a.EventIndex)));
        Assert.All(again.Alerts, a => Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(Now.ToUnixTimeMilliseconds()), a.CrossedAt));

        var states = new AlertStates(redis.Connection, _keys, Budgets, _clock);
        await states.MarkSentAsync(again.Alerts[0]);
        await states.MarkSentAsync(again.Alerts[1]);
        Assert.Empty((await Ledger.ApplyAsync(events)).Alerts);
        var state = (string)(await redis.Db.HashGetAsync(_keys.UserMonth(user, ThisMonth), LedgerKeys.AlertField(80)))!;
        Assert.Equal($"{LedgerKeys.AlertSent}|{events[2].Usage.EventId}|900000|{Now.ToUnixTimeMilliseconds()}", state);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(Now.ToUnixTimeMilliseconds()), LedgerKeys.CrossedAt(state));
    }

    [Fact]
    public async Task A_duplicate_of_another_event_does_not_hand_back_a_pending_alert_while_its_crossing_event_does()
    {
        var user = NewUser();
        // Budget $1: 80% is crossed by the third event.
        PricedUsage[] events = [Event(user, 300_000), Event(user, 300_000), Event(user, 300_000)];
        var result = await Ledger.ApplyAsync(events);
        Assert.Equal([(80, 2)], result.Alerts.Select(a => (a.ThresholdPercent, a.EventIndex!.Value)));

        // A client re-posts the first event (with a new one) while the alert is still pending: not handed back.
        var other = await Ledger.ApplyAsync([events[0], Event(user, 1)]);
        Assert.Equal([true, false], other.Duplicate);
        Assert.Empty(other.Alerts);

        // The crossing event itself comes again (its write's message redelivered): handed back.
        var again = await Ledger.ApplyAsync([events[2]]);
        Assert.Equal([true], again.Duplicate);
        Assert.Equal([(80, (int?)null)], again.Alerts.Select(a => (a.ThresholdPercent, a.EventIndex)));
    }

    [Fact]
    public async Task A_users_own_thresholds_replace_the_configured_ones_and_an_empty_list_fires_none()
    {
        var own = NewUser();
        var none = NewUser();
        var usual = NewUser();
        await redis.Db.StringSetAsync(_keys.UserThresholds(own), BudgetOptions.ThresholdsText([30, 60]));
        await redis.Db.StringSetAsync(_keys.UserThresholds(none), BudgetOptions.ThresholdsText([]));

        // Budget $1 each, in one call, 300,000 µ$ an event: 30% at the first, 60% at the second, 80% at the third and
        // 100% at the fourth.
        PricedUsage[] events = [.. new[] { own, none, usual }.SelectMany(u => Enumerable.Range(0, 4).Select(_ => Event(u, 300_000)))];
        var result = await Ledger.ApplyAsync(events);

        Assert.Equal([(own, 30, 0), (own, 60, 1), (usual, 80, 10), (usual, 100, 11)],
            result.Alerts.Select(a => (events[a.EventIndex!.Value].Usage.UserId, a.ThresholdPercent, a.EventIndex!.Value)).OrderBy(a => a.Item3));
        Assert.Equal(["alert|30", "alert|60"], (await redis.Db.HashKeysAsync(_keys.UserMonth(own, ThisMonth)))
            .Select(k => k.ToString()).Where(k => k.StartsWith(LedgerKeys.AlertPrefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal));

        // A threshold added below the spend fires once on re-evaluation; one above it stays armed.
        await redis.Db.StringSetAsync(_keys.UserThresholds(none), BudgetOptions.ThresholdsText([50, 150]));
        var states = new AlertStates(redis.Connection, _keys, Budgets, _clock);
        Assert.Equal([50], (await states.ReevaluateAsync(none, ThisMonth)).Select(a => a.ThresholdPercent));
        Assert.Empty(await states.ReevaluateAsync(none, ThisMonth));
    }

    [Fact]
    public async Task A_budget_change_re_arms_thresholds_above_the_spend_and_fires_those_below()
    {
        var user = NewUser();
        var states = new AlertStates(redis.Connection, _keys, Budgets, _clock);
        await Ledger.ApplyAsync([Event(user, 500_000)]);

        await redis.Db.StringSetAsync(_keys.UserBudget(user), 600_000);
        var lowered = await states.ReevaluateAsync(user, ThisMonth);
        Assert.Equal([80], lowered.Select(a => a.ThresholdPercent));
        Assert.Equal((500_000, 600_000), (lowered[0].SpentMicros, lowered[0].BudgetMicros));

        await redis.Db.StringSetAsync(_keys.UserBudget(user), 10_000_000);
        Assert.Empty(await states.ReevaluateAsync(user, ThisMonth));
        Assert.False(await redis.Db.HashExistsAsync(_keys.UserMonth(user, ThisMonth), LedgerKeys.AlertField(80)));
    }

    [Fact]
    public async Task A_ledger_written_with_another_bucket_count_is_refused_with_what_to_do()
    {
        var db = redis.Db;
        await db.KeyDeleteAsync(LedgerKeys.LayoutKey);
        var options = new LedgerOptions();
        Task<string?> Claim(LedgerKeys keys) => db.StringSetAndGetAsync(LedgerKeys.LayoutKey, keys.Buckets, when: When.NotExists).ContinueWith(t => (string?)t.Result);

        var sixteen = new LedgerKeys(16);
        await sixteen.CheckStoredLayoutAsync(() => Claim(sixteen), _ => false, options, TimeProvider.System, default);
        await sixteen.CheckStoredLayoutAsync(() => Claim(sixteen), _ => false, options, TimeProvider.System, default);
        var other = new LedgerKeys(32);
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(
            () => other.CheckStoredLayoutAsync(() => Claim(other), _ => false, options, TimeProvider.System, default));

        Assert.Contains("Ledger:Buckets is 32", refused.Message);
        Assert.Contains("set Ledger:Buckets=16", refused.Message);
        Assert.Equal("16", (string?)await db.StringGetAsync(LedgerKeys.LayoutKey));
    }
}
