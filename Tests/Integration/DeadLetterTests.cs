using LlmCostTracker.Contracts;
using RabbitMQ.Client;

namespace LlmCostTracker.Tests.Integration;

/// <summary>Usage messages that exhausted their retries, replayed with the worker's resource command (the
/// dashboard's "Replay failed usage messages").</summary>
[Collection(AppCollection.Name)]
public sealed class DeadLetterTests(AppFixture app)
{
    private const string ReplayCommand = "replay-failed-usage";

    [Fact]
    public async Task Failed_messages_are_replayed_by_the_resource_command_and_count_once_however_often_replayed()
    {
        // A key of the wrong type fails the user's writes on every retry: the message ends in the error queue.
        var user = AppFixture.NewUser("deadletter");
        var key = app.Keys.UserMonth(user, AppFixture.CurrentMonth);
        Assert.True(await app.Redis.GetDatabase().StringSetAsync(key, "not a hash"));
        await using (var bus = await TestBus.StartAsync(app.App))
        {
            await bus.Publish(new LlmUsageRecorded { Events = [Usage(user)] });
        }

        await Eventually.ReturnsAsync(() => QueueTypes.ErrorQueueHoldsAsync(app, user), found => found, because: "the message to exhaust its retries");
        // The worker's health details in the dashboard count it.
        var report = await Eventually.ReturnsAsync(
            DeadLetterReportAsync, description => description?.Contains("failed usage messages wait in", StringComparison.Ordinal) == true,
            because: "the worker's health details to count the dead letter");
        Assert.Matches("^[1-9][0-9]* failed usage messages wait in llm-usage-aggregation_error", report);

        // Repaired, then replayed: counted once.
        Assert.True(await app.Redis.GetDatabase().KeyDeleteAsync(key));
        var replay = await app.App.ResourceCommands.ExecuteCommandAsync("workerservice", ReplayCommand);
        Assert.True(replay.Success, replay.Message);
        Assert.Matches("^[1-9][0-9]* failed usage messages moved back", replay.Message);
        await FaultScenarios.AssertExactTotalsAsync(app, user, 1);

        // Replayed again (nothing of this user is left there; a copy would still be a duplicate): still once.
        var again = await app.App.ResourceCommands.ExecuteCommandAsync("workerservice", ReplayCommand);
        Assert.True(again.Success, again.Message);
        Assert.False(await QueueTypes.ErrorQueueHoldsAsync(app, user));
        await app.PostUsageAsync(FaultScenarios.Event(user));
        await FaultScenarios.AssertExactTotalsAsync(app, user, 2);
    }

    /// <summary>The description of the worker's dead-letter health report, as the Aspire dashboard shows it.</summary>
    private async Task<string?> DeadLetterReportAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await foreach (var e in app.App.ResourceNotifications.WatchAsync(timeout.Token))
        {
            if (e.Resource.Name == "workerservice" && e.Snapshot.HealthReports.FirstOrDefault(r => r.Name == "workerservice-dead-letters") is { } health)
            {
                return health.Description;
            }
        }

        return null;
    }

    internal static LlmUsage Usage(string user) => new()
    {
        EventId = Guid.NewGuid().ToString("N"), UserId = user, Model = "gpt-4o", InputTokens = 100, CachedInputTokens = 0, OutputTokens = 100,
        OccurredAt = DateTimeOffset.UtcNow,
    };
}
