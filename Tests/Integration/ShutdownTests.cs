using System.Diagnostics;
using System.Net;

namespace LlmCostTracker.Tests.Integration;

/// <summary>Stopping services as an operator does (the dashboard's Stop button is this resource command) after
/// faults, in the main app (one worker replica).</summary>
[Collection(AppCollection.Name)]
public sealed class ShutdownTests(AppFixture app)
{
    /// <summary>The worker's own bound is 5 s (HostOptions.ShutdownTimeout); this leaves room for the orchestrator.</summary>
    private static readonly TimeSpan StopBound = TimeSpan.FromSeconds(10);

    /// <summary>Stops the worker with the resource command (asserting its result) and asserts it took less than
    /// <see cref="StopBound"/>.</summary>
    private async Task StopTheWorkerPromptlyAsync()
    {
        var clock = Stopwatch.StartNew();
        await app.StopResourceAsync("workerservice");
        Assert.True(clock.Elapsed < StopBound, $"the stop took {clock.Elapsed}");
    }

    [Fact]
    public async Task The_worker_stops_on_command_after_a_broker_restart_and_loses_nothing()
    {
        var user = AppFixture.NewUser("restart-stop");
        await app.StopResourceAsync("rabbitmq");
        try
        {
            var refused = await app.PostUsageAsync(FaultScenarios.Event(user));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        }
        finally
        {
            await app.StartResourceAsync("rabbitmq");
        }

        await Eventually.ReturnsAsync(
            async () => (await app.PostUsageAsync(FaultScenarios.Event(user))).StatusCode,
            status => status == HttpStatusCode.Accepted, because: "the broker to be back");
        await FaultScenarios.PostAcceptedAsync(app, user, 4);

        try
        {
            await StopTheWorkerPromptlyAsync();
        }
        finally
        {
            await app.StartResourceAsync("workerservice");
        }

        await FaultScenarios.AssertExactTotalsAsync(app, user, 5);
    }

    [Fact]
    public async Task The_worker_stops_on_command_while_Redis_is_down_and_its_messages_are_retrying()
    {
        var user = AppFixture.NewUser("redis-stop");
        await app.StopResourceAsync("redis");
        try
        {
            // Accepted (the broker has them); the worker's consumers retry them against the missing Redis.
            await FaultScenarios.PostAcceptedAsync(app, user, 5);
            try
            {
                await StopTheWorkerPromptlyAsync();
            }
            finally
            {
                await app.StartResourceAsync("redis");
            }
        }
        finally
        {
            await app.StartResourceAsync("workerservice");
        }

        // What was unacknowledged at the stop was redelivered to the new worker: counted once.
        await FaultScenarios.AssertExactTotalsAsync(app, user, 5);
    }

    [Fact]
    public async Task The_worker_stops_on_command_mid_batch_under_load_and_counts_everything_once()
    {
        var user = AppFixture.NewUser("load-stop");
        // 40 batches of 250 events posted while the worker is told to stop: some are in its writes when it does.
        var posts = Enumerable.Range(0, 40).Select(_ => app.PostBatchAsync(new { events = Enumerable.Range(0, 250).Select(_ => FaultScenarios.Event(user)).ToArray() })).ToList();
        try
        {
            await StopTheWorkerPromptlyAsync();
        }
        finally
        {
            await app.StartResourceAsync("workerservice");
        }

        Assert.All(await Task.WhenAll(posts), r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        await FaultScenarios.AssertExactTotalsAsync(app, user, 40 * 250);
    }
}
