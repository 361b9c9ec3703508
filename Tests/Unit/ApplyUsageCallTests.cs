using LlmCostTracker.Contracts;
using LlmCostTracker.Ledger;
using LlmCostTracker.WorkerService.Aggregation;
using LlmCostTracker.WorkerService.Attribution;
using LlmCostTracker.WorkerService.Chunks;
using StackExchange.Redis;

namespace LlmCostTracker.Tests.Unit;

public sealed class ApplyUsageCallTests
{
    private static readonly LedgerKeys Keys = new(4);
    private static readonly DateTimeOffset Day = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);

    private static PricedUsage Event(string id, string user, string model, long micros, DateTimeOffset at, string? holdId = null) =>
        new(new LlmUsage { EventId = id, UserId = user, Model = model, InputTokens = 10, CachedInputTokens = 2, OutputTokens = 5, OccurredAt = at, HoldId = holdId }, micros);

    [Fact]
    public void A_call_holds_its_header_then_each_users_groups_and_events_in_order()
    {
        PricedUsage[] events =
        [
            Event("e1", "ann", "gpt-4o", 100, Day),
            Event("e2", "ann", "gpt-4o", 200, Day, holdId: "hold-1"),
            Event("e3", "ann", "o3", 300, Day.AddDays(1)),
        ];
        var chunk = Assert.Single(LedgerChunk.Plan(Keys, events, CostLedger.ChunkEvents));

        var window = new ClaimWindow(TimeSpan.FromDays(7));
        var call = ApplyUsageCall.Encode(Keys, chunk, events, defaultBudgetMicros: 6_000_000, thresholds: [80, 100], window, Day);

        var month = new UsageMonth(2026, 12);
        var bucket = Keys.BucketOf("ann");
        Assert.Equal(
            [Keys.MonthTotals(bucket, "2026-12"), Keys.MonthUsers(bucket, "2026-12"),
             // Seven days in periods of 42 hours: the current period and the four before it.
             .. Enumerable.Range(0, 5).Select(c => Keys.Claims(bucket, $"151200:{window.PeriodOf(Day) - c}")),
             Keys.UserMonth("ann", "2026-12"), Keys.UserBudget("ann"), Keys.UserHoldData("ann"), Keys.UserThresholds("ann")],
            call.Keys.Select(k => k.ToString()));
        Assert.Equal(
            [
                month.ExpiresAt.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), "6000000",
                "5", window.ExpiresAt(window.PeriodOf(Day)).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
                // One claim form: the current one.
                // Each event's values in the call (not omitted).
                "1", "5", "alert|", "pending", "#held", "7", "2", "1", "0",
                "cost", "input", "cached", "output", "requests", "cacheWrite", "reasoning", "80", "100",
                "ann", "2", "3", "1",
                "model|gpt-4o", "day|2026-12-01", "300", "20", "4", "10", "2", "0", "0",
                "model|o3", "day|2026-12-02", "300", "10", "2", "5", "1", "0", "0",
                Claim("e1"), $"100,10,2,5,1,0,0,1,{Ms(Day)},e1", Claim("e2"), $"200,10,2,5,1,0,0,1,{Ms(Day)},e2", Claim("e3"), $"300,10,2,5,1,0,0,2,{Ms(Day.AddDays(1))},e3",
                // The event carrying a budget hold: its position among ann's events, and the holdId.
                "2", "hold-1",
                // No tags: an empty tag delta, and no event tag sets after it; history off: an empty rollup delta.
                "", "",
            ],
            call.Args.Select(a => a.ToString()));

        static string Claim(string eventId) => ((RedisValue)ClaimWindow.Digest("ann", eventId)).ToString();
        static long Ms(DateTimeOffset at) => at.ToUnixTimeMilliseconds();
    }

    [Fact]
    public void While_the_claim_form_changes_each_claim_holds_both_forms()
    {
        PricedUsage[] events = [Event("e1", "ann", "gpt-4o", 100, Day)];
        var chunk = Assert.Single(LedgerChunk.Plan(Keys, events, CostLedger.ChunkEvents));
        var window = new ClaimWindow(TimeSpan.FromDays(7));
        // A ledger written before the change, first met a day ago: both forms for the window and a period after that.
        window.FormChangedAt(Day.AddDays(-1));
        Assert.Equal(Day.AddDays(-1) + window.Window + window.Period, window.BothFormsUntil);

        var during = ApplyUsageCall.Encode(Keys, chunk, events, 6_000_000, [80, 100], window, Day);
        var after = ApplyUsageCall.Encode(Keys, chunk, events, 6_000_000, [80, 100], window, window.BothFormsUntil);

        Assert.Equal(2, (int)during.Args[(int)ApplyUsageCall.UsageArg.ClaimForms]);
        // An event's claim comes just before its packed values.
        var both = (byte[])during.Args[Array.FindIndex(during.Args, a => a.ToString().EndsWith(",e1", StringComparison.Ordinal)) - 1]!;
        Assert.Equal([.. ClaimWindow.Digest("ann", "e1"), .. ClaimWindow.LegacyDigest("ann", "e1")], both);
        Assert.Equal(1, (int)after.Args[(int)ApplyUsageCall.UsageArg.ClaimForms]);
        Assert.Contains(after.Args, a => a == (RedisValue)ClaimWindow.Digest("ann", "e1"));
    }

    [Fact]
    public void A_ledger_that_never_held_the_older_form_uses_the_current_one_only()
    {
        var window = new ClaimWindow(TimeSpan.FromDays(7));
        window.FormChangedAt(DateTimeOffset.UnixEpoch);
        Assert.False(window.BothFormsAt(Day));
        Assert.False(new ClaimWindow(TimeSpan.FromDays(7)).BothFormsAt(Day));
    }

    [Fact]
    public void The_two_claim_forms_are_different_128_bit_digests_of_the_same_text()
    {
        var current = ClaimWindow.Digest("ann", "e1");
        var legacy = ClaimWindow.LegacyDigest("ann", "e1");
        Assert.Equal(ClaimWindow.DigestBytes, current.Length);
        Assert.Equal(ClaimWindow.DigestBytes, legacy.Length);
        Assert.NotEqual(current, legacy);
        // The older form as it was stored: the first half of SHA-256("ann|e1").
        Assert.Equal(System.Security.Cryptography.SHA256.HashData("ann|e1"u8)[..16], legacy);
        Assert.Equal(System.IO.Hashing.XxHash128.Hash("ann|e1"u8), current);
        // Past the stack buffer, and not ASCII.
        var longId = new string('é', 600);
        Assert.Equal(System.IO.Hashing.XxHash128.Hash(System.Text.Encoding.UTF8.GetBytes("ann|" + longId)), ClaimWindow.Digest("ann", longId));
        Assert.NotEqual(ClaimWindow.Digest("ann", "e1"), ClaimWindow.Digest("ann", "e2"));
    }

    [Fact]
    public void Tagged_events_are_summed_per_tag_value_into_one_delta_with_each_events_tag_set()
    {
        PricedUsage[] events =
        [
            Tagged("e1", new() { ["team"] = "search" }),
            Tagged("e2", new() { ["team"] = "search", ["feature"] = "sum" }),
            Event("e3", "ann", "gpt-4o", 100, Day),
            Tagged("e4", new() { ["feature"] = "sum", ["team"] = "search" }),
        ];
        var chunk = Assert.Single(LedgerChunk.Plan(Keys, events, CostLedger.ChunkEvents));

        var call = ApplyUsageCall.Encode(Keys, chunk, events, defaultBudgetMicros: 6_000_000, thresholds: [80, 100], new ClaimWindow(TimeSpan.FromDays(7)), Day);

        // After the month's 7 keys and ann's 4: the bucket's tag delta list.
        Assert.Equal(12, call.Keys.Length);
        Assert.Equal(Keys.TagDeltas(Keys.BucketOf("ann")), call.Keys[^1].ToString());
        // The delta, then each event's tag set: one a set instance (e2's and e4's hold the same tags, the same tag
        // numbers: their sums go to the same values).
        Assert.Equal("1,2,0,3", call.Args[^2].ToString());
        Assert.Equal("", call.Args[^1].ToString());
        var (id, month, tags) = TagDelta.Read((byte[])call.Args[^3]!);
        Assert.Equal(TagDelta.IdLength, id.Length);
        Assert.Equal("2026-12", month);
        var team = Assert.Single(tags, t => t.Dimension == "team").Sums;
        Assert.Equal([300, 30, 0, 15, 3, 0, 0], team.Counters);
        Assert.Equal([300, 30, 0, 15, 3, 0, 0], team.Models["model|gpt-4o"]);
        Assert.Equal(300, team.Days["day|2026-12-01"]);
        Assert.Equal(300, team.Users["ann"]);
        var feature = Assert.Single(tags, t => t.Dimension == "feature" && t.Value == "sum").Sums;
        Assert.Equal(200, feature.Counters[0]);
        Assert.Equal(2, feature.Counters[4]);
        Assert.Equal(2, tags.Count);

        PricedUsage Tagged(string id, Dictionary<string, string> tags) =>
            new(new LlmUsage { EventId = id, UserId = "ann", Model = "gpt-4o", InputTokens = 10, CachedInputTokens = 0, OutputTokens = 5, OccurredAt = Day, Tags = tags }, 100);
    }

    [Fact]
    public void Equal_tags_of_sets_read_without_the_pool_may_be_listed_twice_and_still_sum_exactly()
    {
        // Strings of their own (not the pool's shared ones): the call numbers tags by reference.
        PricedUsage[] events =
        [
            new(new LlmUsage { EventId = "a", UserId = "ann", Model = "gpt-4o", InputTokens = 10, CachedInputTokens = 0, OutputTokens = 5, OccurredAt = Day, Tags = new Dictionary<string, string> { [new string("team")] = new string("x") } }, 100),
            new(new LlmUsage { EventId = "b", UserId = "bob", Model = "gpt-4o", InputTokens = 20, CachedInputTokens = 0, OutputTokens = 5, OccurredAt = Day, Tags = new Dictionary<string, string> { [new string("team")] = new string("x") } }, 400),
        ];
        var chunk = Assert.Single(LedgerChunk.Plan(new LedgerKeys(1), events, CostLedger.ChunkEvents));

        var (_, _, tags) = TagDelta.Read(TagDelta.Build(chunk, events, model => $"model|{model}")!.Value.Json);

        Assert.All(tags, t => Assert.Equal(("team", "x"), (t.Dimension, t.Value)));
        Assert.Equal(500, tags.Sum(t => t.Sums.Counters[0]));
        Assert.Equal(2, tags.Sum(t => t.Sums.Models["model|gpt-4o"][LedgerKeys.RequestsPosition - 1]));
        Assert.Equal(500, tags.Sum(t => t.Sums.Users.Values.Sum()));
    }

    [Fact]
    public void A_delta_read_back_takes_out_the_duplicates_the_script_listed_after_it()
    {
        PricedUsage[] events =
        [
            new(new LlmUsage { EventId = "a", UserId = "ann", Model = "gpt-4o", InputTokens = 10, CachedInputTokens = 0, OutputTokens = 5, OccurredAt = Day, Tags = new Dictionary<string, string> { ["team"] = "x" } }, 100),
            new(new LlmUsage { EventId = "b", UserId = "bob", Model = "o3", InputTokens = 20, CachedInputTokens = 0, OutputTokens = 5, OccurredAt = Day, Tags = new Dictionary<string, string> { ["team"] = "x" } }, 400),
        ];
        var chunk = Assert.Single(LedgerChunk.Plan(new LedgerKeys(1), events, CostLedger.ChunkEvents));
        var (json, _) = TagDelta.Build(chunk, events, model => $"model|{model}")!.Value;
        // As apply-usage.lua appends it when bob's event was a duplicate (cjson writes numbers as it likes).
        var appended = System.Text.Encoding.UTF8.GetBytes(System.Text.Encoding.UTF8.GetString(json)
            + "\n" + """[{"s":1,"m":"model|o3","d":"day|2026-12-01","c":[400,20,0,5,1,0,0],"u":"bob"}]""");

        var (_, _, tags) = TagDelta.Read(appended);

        var team = Assert.Single(tags).Sums;
        Assert.Equal([100, 10, 0, 5, 1, 0, 0], team.Counters);
        Assert.Equal(100, team.Days["day|2026-12-01"]);
        Assert.Equal(0, team.Users["bob"]);
        Assert.All(team.Models["model|o3"], c => Assert.Equal(0, c));
    }

    [Theory]
    [InlineData("\"month\":\"2026-12\"", "\"month\":null")]
    [InlineData("\"d\":\"team\"", "\"d\":null")]
    [InlineData("\"v\":\"x\"", "\"v\":null")]
    [InlineData("\"u\":\"bob\"}]", "\"u\":null}]")]
    public void A_delta_with_a_null_text_is_refused_as_unreadable_not_folded_under_an_empty_key(string text, string nulled)
    {
        PricedUsage[] events =
        [
            new(new LlmUsage { EventId = "a", UserId = "ann", Model = "gpt-4o", InputTokens = 10, CachedInputTokens = 0, OutputTokens = 5, OccurredAt = Day, Tags = new Dictionary<string, string> { ["team"] = "x" } }, 100),
        ];
        var chunk = Assert.Single(LedgerChunk.Plan(new LedgerKeys(1), events, CostLedger.ChunkEvents));
        var delta = System.Text.Encoding.UTF8.GetString(TagDelta.Build(chunk, events, model => $"model|{model}")!.Value.Json)
            + "\n" + """[{"s":1,"m":"model|gpt-4o","d":"day|2026-12-01","c":[100,10,0,5,1,0,0],"u":"bob"}]""";
        Assert.Contains(text, delta, StringComparison.Ordinal);
        TagDelta.Read(System.Text.Encoding.UTF8.GetBytes(delta));

        var error = Assert.Throws<FormatException>(() => TagDelta.Read(System.Text.Encoding.UTF8.GetBytes(delta.Replace(text, nulled, StringComparison.Ordinal))));
        Assert.True(UnreadableEntry.Is(error));
    }

    [Fact]
    public void A_write_splits_by_bucket_and_month_and_no_call_exceeds_its_event_limit()
    {
        var users = Enumerable.Range(0, 40).Select(i => $"user-{i}").ToArray();
        var events = Enumerable.Range(0, 1_000)
            .Select(i => Event($"e{i}", users[i % users.Length], "gpt-4o", 1, i % 2 == 0 ? Day : Day.AddMonths(-1)))
            .ToArray();

        var chunks = LedgerChunk.Plan(Keys, events, maxEvents: 100);

        Assert.All(chunks, c => Assert.InRange(c.EventCount, 1, 100));
        Assert.Equal(Enumerable.Range(0, events.Length), chunks.SelectMany(c => c.EventOrder()).Order());
        Assert.All(chunks, c => Assert.All(c.EventOrder(), i =>
        {
            Assert.Equal(c.Bucket, Keys.BucketOf(events[i].Usage.UserId));
            Assert.Equal(c.Month, UsageMonth.Of(events[i].Usage.OccurredAt));
        }));
    }

    [Fact]
    public void The_reply_reads_alerts_and_duplicates_as_zero_based_positions()
    {
        var reply = RedisResult.Create([
            RedisResult.Create(2),
            RedisResult.Create(1), RedisResult.Create(80), RedisResult.Create(3), RedisResult.Create(4_800_000), RedisResult.Create(6_000_000), RedisResult.Create(1_764_633_600_000),
            RedisResult.Create(2), RedisResult.Create(100), RedisResult.Create(0), RedisResult.Create(6_100_000), RedisResult.Create(6_000_000), RedisResult.Create(0),
            RedisResult.Create(5), RedisResult.Create(7),
        ]);

        var decoded = ApplyUsageCall.Decode(reply);

        Assert.Equal(
            [new ApplyUsageCall.Alert(0, 80, 2, 4_800_000, 6_000_000, DateTimeOffset.FromUnixTimeMilliseconds(1_764_633_600_000)),
             new ApplyUsageCall.Alert(1, 100, null, 6_100_000, 6_000_000, null)],
            decoded.Alerts);
        Assert.Equal([4, 6], decoded.DuplicatePositions);
    }
}
