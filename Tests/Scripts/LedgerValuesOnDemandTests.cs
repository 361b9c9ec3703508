using LlmCostTracker.Contracts;
using LlmCostTracker.Ledger;
using LlmCostTracker.WorkerService.Aggregation;
using LlmCostTracker.WorkerService.Chunks;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmCostTracker.Tests.Scripts;

/// <summary>Ledger calls sent without each event's values, as <see cref="CostLedger"/> sends every call first: the
/// script counts them as it counts a full call, or, when it would read the values (a duplicate in the call, a threshold
/// crossed), answers that it needs them and changes nothing, so the full call sent next is the only one that counts.</summary>
public sealed class LedgerValuesOnDemandTests(BareRedis redis) : IClassFixture<BareRedis>
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private static readonly string ThisMonth = UsageMonth.Of(Now).Key;
    private const long BudgetMicros = 1_000_000;
    private static readonly int[] Thresholds = [80, 100];
    private readonly LedgerKeys _keys = new(LedgerKeys.DefaultBuckets);
    private readonly ClaimWindow _claims = new(TimeSpan.FromHours(1));

    private static PricedUsage Event(string user, long micros, string eventId) =>
        new(new LlmUsage { EventId = eventId, UserId = user, Model = "gpt-4o", InputTokens = 100, CachedInputTokens = 0, OutputTokens = 50, OccurredAt = Now }, micros);

    private static string NewUser() => $"values-{Guid.NewGuid():N}";

    /// <summary>One call for <paramref name="events"/> (one user's), with or without their values.</summary>
    private async Task<RedisResult> SendAsync(PricedUsage[] events, bool withValues)
    {
        var chunk = Assert.Single(LedgerChunk.Plan(_keys, events, CostLedger.ChunkEvents));
        var call = ApplyUsageCall.Encode(_keys, chunk, events, BudgetMicros, Thresholds, _claims, Now, withValues: withValues);
        return await ApplyUsageCall.Script.EvaluateAsync(redis.Db, call.Keys, call.Args);
    }

    private async Task<(long Cost, long Requests)> TotalsAsync(string user)
    {
        var values = await redis.Db.HashGetAsync(_keys.UserMonth(user, ThisMonth), [LedgerKeys.Cost, LedgerKeys.Requests]);
        return (values[0].HasValue ? (long)values[0] : 0, values[1].HasValue ? (long)values[1] : 0);
    }

    [Fact]
    public void A_call_without_values_carries_each_events_claim_alone_and_says_so_in_its_header()
    {
        PricedUsage[] events = [Event("ann", 100, "e1"), Event("ann", 200, "e2")];
        var chunk = Assert.Single(LedgerChunk.Plan(_keys, events, CostLedger.ChunkEvents));

        var lean = ApplyUsageCall.Encode(_keys, chunk, events, BudgetMicros, Thresholds, _claims, Now, withValues: false);
        var full = ApplyUsageCall.Encode(_keys, chunk, events, BudgetMicros, Thresholds, _claims, Now);

        Assert.Equal("1", lean.Args[(int)ApplyUsageCall.UsageArg.ValuesOmitted].ToString());
        Assert.Equal("0", full.Args[(int)ApplyUsageCall.UsageArg.ValuesOmitted].ToString());
        // The full call with each event's packed values taken out and the header's flag set is the lean call.
        var packed = Enumerable.Range(0, full.Args.Length).Where(i => full.Args[i].ToString().EndsWith(",e1", StringComparison.Ordinal)
            || full.Args[i].ToString().EndsWith(",e2", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, packed.Count);
        var expected = full.Args.Where((_, i) => !packed.Contains(i)).ToArray();
        expected[(int)ApplyUsageCall.UsageArg.ValuesOmitted] = 1;
        Assert.Equal(expected, lean.Args);
        Assert.Equal(full.Keys, lean.Keys);
    }

    [Fact]
    public async Task New_events_below_every_threshold_count_without_their_values()
    {
        var user = NewUser();

        var reply = await SendAsync([Event(user, 100_000, "e1"), Event(user, 200_000, "e2")], withValues: false);

        Assert.False(ApplyUsageCall.NeedsValues(reply));
        var decoded = ApplyUsageCall.Decode(reply);
        Assert.Empty(decoded.Alerts);
        Assert.Empty(decoded.DuplicatePositions);
        Assert.Equal((300_000, 2), await TotalsAsync(user));
    }

    [Fact]
    public async Task A_duplicate_in_a_call_without_values_asks_for_them_and_nothing_changes_until_the_full_call()
    {
        var user = NewUser();
        PricedUsage[] first = [Event(user, 100_000, "e1")];
        Assert.False(ApplyUsageCall.NeedsValues(await SendAsync(first, withValues: false)));
        PricedUsage[] again = [first[0], Event(user, 200_000, "e2")];

        Assert.True(ApplyUsageCall.NeedsValues(await SendAsync(again, withValues: false)));
        Assert.Equal((100_000, 1), await TotalsAsync(user));

        // e2's claim was not taken by the call that asked: the full call counts it, and e1 once.
        var decoded = ApplyUsageCall.Decode(await SendAsync(again, withValues: true));
        Assert.Equal([0], decoded.DuplicatePositions);
        Assert.Equal((300_000, 2), await TotalsAsync(user));
    }

    [Fact]
    public async Task A_threshold_crossed_in_a_call_without_values_asks_for_them_and_the_full_call_names_the_crossing_event()
    {
        var user = NewUser();
        PricedUsage[] events = [Event(user, 500_000, "e1"), Event(user, 400_000, "e2")];

        Assert.True(ApplyUsageCall.NeedsValues(await SendAsync(events, withValues: false)));
        Assert.False(await redis.Db.KeyExistsAsync(_keys.UserMonth(user, ThisMonth)));

        var decoded = ApplyUsageCall.Decode(await SendAsync(events, withValues: true));
        var alert = Assert.Single(decoded.Alerts);
        // 80% of 1 USD is crossed by the second event (900,000 µ$ in all).
        Assert.Equal((80, 1, 900_000L), (alert.ThresholdPercent, alert.EventPosition, alert.SpentMicros));
        Assert.Equal((900_000, 2), await TotalsAsync(user));
    }

    [Fact]
    public async Task Calls_go_with_their_values_after_a_window_where_many_needed_them_and_without_after_one_where_few_did()
    {
        var ledger = new CostLedger(redis.Connection, _keys, Options.Create(new BudgetOptions()), Options.Create(new LedgerOptions()), TimeProvider.System,
            claims: _claims, aggregation: Options.Create(new AggregationOptions { ValuesOnDemandWindow = 2, ValuesOnDemandMaxShare = 0.5 }));
        var user = NewUser();
        var first = Event(user, 100, "e1");
        Assert.True(ledger.SendsWithoutValues);

        await ledger.ApplyAsync([first]);
        // The second call of the window meets a duplicate: one of two calls needed the values, not fewer than half.
        var repeated = await ledger.ApplyAsync([first, Event(user, 100, "e2")]);
        Assert.Equal([true, false], repeated.Duplicate);
        Assert.False(ledger.SendsWithoutValues);

        await ledger.ApplyAsync([Event(user, 100, "e3")]);
        await ledger.ApplyAsync([Event(user, 100, "e4")]);
        Assert.True(ledger.SendsWithoutValues);
        Assert.Equal((400, 4), await TotalsAsync(user));
    }
}
