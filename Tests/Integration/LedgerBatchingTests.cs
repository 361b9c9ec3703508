using LlmCostTracker.Contracts;
using LlmCostTracker.Ledger;

namespace LlmCostTracker.Tests.Integration;

/// <summary>The worker writes the events of all the messages it is consuming in one ledger pass. These tests
/// check that sharing a write changes nothing a message can observe.</summary>
public abstract class LedgerBatchingTests(AppFixture app)
{
    private static LlmUsage Usage(string user, string? id = null) => new()
    {
        EventId = id ?? Guid.NewGuid().ToString("N"), UserId = user, Model = "gpt-4o", InputTokens = 100, CachedInputTokens = 0,
        OutputTokens = 100, OccurredAt = DateTimeOffset.UtcNow,
    };

    [Fact]
    public async Task A_user_whose_key_fails_in_Redis_counts_nothing_and_every_other_event_of_the_write_counts_exactly_once()
    {
        // A key of the wrong type makes the user's script call fail on every attempt, as a corrupted key would.
        var broken = AppFixture.NewUser("batch-broken");
        var brokenKey = app.Keys.UserMonth(broken, AppFixture.CurrentMonth);
        await app.Redis.GetDatabase().StringSetAsync(brokenKey, "not a hash", TimeSpan.FromMinutes(5));
        // The others live in other buckets, so no call of theirs holds the broken key.
        var users = Enumerable.Range(0, 1_000).Select(i => AppFixture.NewUser($"batch-{i}"))
            .Where(u => app.Keys.BucketOf(u) != app.Keys.BucketOf(broken)).Take(4).ToArray();

        await using var bus = await TestBus.StartAsync(app.App);
        // One burst: the broken message sits among others, so it shares writes with them.
        var messages = new List<LlmUsageRecorded>();
        for (var i = 0; i < 60; i++)
        {
            var user = users[i % users.Length];
            messages.Add(i == 30
                ? new LlmUsageRecorded { Events = [Usage(broken), Usage(user)] }
                : new LlmUsageRecorded { Events = [Usage(user), Usage(user)] });
        }

        await Task.WhenAll(messages.Select(m => bus.Publish(m)));

        // Atomicity is per user (one bucket's call): the broken message's other event counts once, though the
        // message keeps failing on the broken user and is retried (its claim makes every retry count it once),
        // then moved to the error queue.
        var expected = users.ToDictionary(u => u, u => messages.SelectMany(m => m.Events).Count(e => e.UserId == u));
        foreach (var user in users)
        {
            await FaultScenarios.AssertExactTotalsAsync(app, user, expected[user]);
        }

        // Nothing was counted for the broken user: its call fails before it writes anything (reads come first).
        Assert.Equal("not a hash", (string?)await app.Redis.GetDatabase().StringGetAsync(brokenKey));
    }

    [Fact]
    public async Task An_event_repeated_across_messages_written_together_counts_once()
    {
        var user = AppFixture.NewUser("batch-dup");
        var shared = Usage(user, "shared-event");
        await using var bus = await TestBus.StartAsync(app.App);
        await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => bus.Publish(new LlmUsageRecorded { Events = [shared, Usage(user)] })));
        await FaultScenarios.AssertExactTotalsAsync(app, user, 21);
    }

    [Fact]
    public async Task A_user_with_more_events_than_one_script_call_takes_counts_each_once()
    {
        // Three messages of 1,000 events for one user, published together: written together they are split over
        // script calls of at most 2,000 events (CostLedger.ChunkEvents), and every event still counts once.
        var user = AppFixture.NewUser("batch-busy");
        var messages = Enumerable.Range(0, 3)
            .Select(_ => new LlmUsageRecorded { Events = [.. Enumerable.Range(0, 1_000).Select(_ => Usage(user))] })
            .ToList();
        await using var bus = await TestBus.StartAsync(app.App);
        await Task.WhenAll(messages.Select(m => bus.Publish(m)).Append(bus.Publish(messages[0])));
        await FaultScenarios.AssertExactTotalsAsync(app, user, 3_000);
    }

    [Fact]
    public async Task Per_model_and_per_day_counters_leave_out_duplicates_and_models_seen_only_in_a_duplicate()
    {
        // The worker sums a user's events per model and day; a write with a duplicate in it is summed event by
        // event instead. A re-post of a counted event under another model must not add that model, not even as 0.
        var user = AppFixture.NewUser("batch-models");
        var now = DateTimeOffset.UtcNow;
        var otherDay = now.Day > 1 ? now.AddDays(-1) : now.AddDays(1);
        LlmUsage Event(string id, string model, int input, DateTimeOffset at) => Usage(user, id) with { Model = model, InputTokens = input, OccurredAt = at };
        var first = new LlmUsageRecorded
        {
            Events = [Event("m1", "gpt-4o", 100, now), Event("m2", "claude-3-haiku", 20, now), Event("m3", "gpt-4o", 3_000, otherDay)],
        };
        var second = new LlmUsageRecorded
        {
            Events = [Event("m1", "gpt-4o-mini", 7, now), Event("m2", "claude-3-haiku", 20, now), Event("m4", "claude-3-haiku", 400, otherDay)],
        };
        await using var bus = await TestBus.StartAsync(app.App);
        await bus.Publish(first);
        await app.WaitForRequestsAsync(user, 3);
        await bus.Publish(second);
        var totals = await app.WaitForRequestsAsync(user, 4);
        Assert.Equal(4, totals["requests"]);
        Assert.Equal(3_520, totals["input"]);

        var fields = (await app.Redis.GetDatabase().HashGetAllAsync(app.Keys.UserMonth(user, AppFixture.CurrentMonth)))
            .ToDictionary(e => e.Name.ToString(), e => e.Value.ToString());
        var gpt4o = LedgerKeys.ParseModelCounters(fields[LedgerKeys.ModelField("gpt-4o")]);
        var haiku = LedgerKeys.ParseModelCounters(fields[LedgerKeys.ModelField("claude-3-haiku")]);
        Assert.Equal((3_100, 2), (gpt4o[1], gpt4o[4]));
        Assert.Equal((420, 2), (haiku[1], haiku[4]));
        Assert.Equal(totals["cost"], gpt4o[0] + haiku[0]);
        Assert.DoesNotContain(LedgerKeys.ModelField("gpt-4o-mini"), fields.Keys);
        Assert.Equal(
            totals["cost"],
            fields.Where(f => f.Key.StartsWith(LedgerKeys.DayPrefix, StringComparison.Ordinal)).Sum(f => long.Parse(f.Value)));
        Assert.Equal(2, fields.Keys.Count(f => f.StartsWith(LedgerKeys.DayPrefix, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task One_message_crossing_many_users_thresholds_publishes_every_alert_once_and_marks_it_sent()
    {
        // Five users, each crossing 80% ($5.00 of $6) and then 100% ($6.00) within the same message: their alerts
        // go out together across users, in order within each user.
        var users = Enumerable.Range(0, 5).Select(i => AppFixture.NewUser($"batch-alerts-{i}")).ToArray();
        var listeners = await Task.WhenAll(users.Select(u => AlertListener.StartAsync(app.AlertSubscriber, u)));
        await using var bus = await TestBus.StartAsync(app.App);
        try
        {
            // gpt-4o output is $10 a million tokens: 500,000 tokens = $5.00, 100,000 = $1.00.
            await bus.Publish(new LlmUsageRecorded
            {
                Events = [.. users.SelectMany(u => new[]
                {
                    Usage(u) with { InputTokens = 0, OutputTokens = 500_000 },
                    Usage(u) with { InputTokens = 0, OutputTokens = 100_000 },
                })],
            });

            foreach (var (user, listener) in users.Zip(listeners))
            {
                await Eventually.ReturnsAsync(
                    () => app.AlertStatesAsync(user),
                    states => states.Length == 2 && states.All(a => a.Value.ToString().StartsWith("sent|", StringComparison.Ordinal)),
                    because: $"{user}'s two alerts to be sent");
                await listener.WaitForAsync(2);
                var alerts = listener.Received.OrderBy(a => a.ThresholdPercent).ToArray();
                Assert.Equal([80, 100], alerts.Select(a => a.ThresholdPercent));
                Assert.Equal([5.00m, 6.00m], alerts.Select(a => a.SpentUsd));
            }
        }
        finally
        {
            foreach (var listener in listeners)
            {
                await listener.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Negative_counts_published_straight_to_the_broker_add_up_and_do_not_block_the_users_month()
    {
        // The API refuses negative token counts; a message published to the broker by hand is not validated. Its
        // values still sum (as they did before model counters were packed), on both the summed path and the
        // event-by-event one a duplicate takes, and the user's month keeps taking events afterwards.
        var user = AppFixture.NewUser("batch-negative");
        var negative = Usage(user) with { InputTokens = 0, OutputTokens = -100 };
        await using var bus = await TestBus.StartAsync(app.App);
        // The month's model field goes negative; the next message repeats an event, so its new events are
        // read one by one, one of them negative too.
        await bus.Publish(new LlmUsageRecorded { Events = [negative] });
        await app.WaitForRequestsAsync(user, 1);
        await bus.Publish(new LlmUsageRecorded { Events = [negative, Usage(user) with { InputTokens = 0, OutputTokens = -100 }, Usage(user)] });
        var totals = await app.WaitForRequestsAsync(user, 3);
        Assert.Equal(3, totals["requests"]);
        Assert.Equal(-100, totals["output"]);   // -100 - 100 + 100

        var model = await app.Redis.GetDatabase().HashGetAsync(app.Keys.UserMonth(user, AppFixture.CurrentMonth), LedgerKeys.ModelField("gpt-4o"));
        var counters = LedgerKeys.ParseModelCounters(model!);
        Assert.Equal((totals["cost"], -100L, 3L), (counters[0], counters[3], counters[4]));
    }
}

[Collection(AppCollection.Name)]
public sealed class LedgerBatchingOnOneRedisTests(AppFixture app) : LedgerBatchingTests(app);

[Collection(ShardedCollection.Name)]
public sealed class LedgerBatchingOnRedisClusterTests(ShardedAppFixture app) : LedgerBatchingTests(app);
