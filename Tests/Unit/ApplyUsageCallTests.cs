using LlmCostTracker.Contracts;
using LlmCostTracker.WorkerService.Aggregation;
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

        var month = new LedgerMonth(2026, 12);
        var bucket = Keys.BucketOf("ann");
        Assert.Equal(
            [Keys.MonthTotals(bucket, "2026-12"), Keys.MonthUsers(bucket, "2026-12"),
             // Seven days in periods of 42 hours: the current period and the four before it.
             .. Enumerable.Range(0, 5).Select(c => Keys.Claims(bucket, $"151200:{window.PeriodOf(Day) - c}")),
             Keys.UserMonth("ann", "2026-12"), Keys.UserBudget("ann"), Keys.UserHoldData("ann")],
            call.Keys.Select(k => k.ToString()));
        Assert.Equal(
            [
                month.ExpiresAt.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), "6000000",
                "5", window.ExpiresAt(window.PeriodOf(Day)).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
                "7", "cost", "input", "cached", "output", "requests", "cacheWrite", "reasoning", "5", "alert|", "pending", "#held", "2", "80", "100",
                "1", "ann", "2", "3", "1",
                "model|gpt-4o", "day|2026-12-01", "300", "20", "4", "10", "2", "0", "0",
                "model|o3", "day|2026-12-02", "300", "10", "2", "5", "1", "0", "0",
                Claim("e1"), $"100,10,2,5,1,0,0,1,{Ms(Day)},e1", Claim("e2"), $"200,10,2,5,1,0,0,1,{Ms(Day)},e2", Claim("e3"), $"300,10,2,5,1,0,0,2,{Ms(Day.AddDays(1))},e3",
                // The event carrying a budget hold: its position among ann's events, and the holdId.
                "2", "hold-1",
                // No tags and no tag sets (no group tag sets follow).
                "0", "0",
            ],
            call.Args.Select(a => a.ToString()));

        static string Claim(string eventId) => ((RedisValue)ClaimWindow.Digest("ann", eventId)).ToString();
        static long Ms(DateTimeOffset at) => at.ToUnixTimeMilliseconds();
    }

    [Fact]
    public void Tagged_events_group_by_tag_set_and_name_each_tags_keys_by_position()
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

        var bucket = Keys.BucketOf("ann");
        // After the month's 7 keys and ann's 3: each dimension's index, then each tag's hash and users.
        Assert.Equal(
            [Keys.TagIndex(bucket, "team", "2026-12"), Keys.TagIndex(bucket, "feature", "2026-12"),
             Keys.TagValue(bucket, "team", "2026-12", "search"), Keys.TagUsers(bucket, "team", "2026-12", "search"),
             Keys.TagValue(bucket, "feature", "2026-12", "sum"), Keys.TagUsers(bucket, "feature", "2026-12", "sum")],
            call.Keys[^6..].Select(k => k.ToString()));
        Assert.Equal(16, call.Keys.Length);
        Assert.Equal(
            [
                // Two tags: the KEYS positions of its index, hash and users, and its value.
                "2", "11", "13", "14", "search", "12", "15", "16", "sum",
                // Two tag sets (e4's is e2's, in any order), then each group's: e1's, e2 and e4's, and e3's none.
                "2", "1", "1", "2", "2", "1",
                "1", "2", "0",
            ],
            call.Args[^18..].Select(a => a.ToString()));
        // Three groups of ann's: e2 and e4 together.
        Assert.Contains("model|gpt-4o", call.Args.Select(a => a.ToString()));
        Assert.Equal("3", call.Args[Array.FindIndex(call.Args, a => a == "ann") + 1].ToString());

        PricedUsage Tagged(string id, Dictionary<string, string> tags) =>
            new(new LlmUsage { EventId = id, UserId = "ann", Model = "gpt-4o", InputTokens = 10, CachedInputTokens = 0, OutputTokens = 5, OccurredAt = Day, Tags = tags }, 100);
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
            Assert.Equal(c.Month, LedgerMonth.Of(events[i].Usage.OccurredAt));
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
