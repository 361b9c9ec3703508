using System.Diagnostics;
using System.Net;

namespace LlmCostTracker.Tests.Integration;

/// <summary>Stopping services as an operator does (the dashboard's Stop button is this resource command) after
/// faults, in the main app (one worker replica).</summary>
[Collection(AppCollection.Name)]
public sealed class ShutdownTests(AppFixture app)
{
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

        var clock = Stopwatch.StartNew();
        try
        {
            await app.StopResourceAsync("workerservice");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the stop took {clock.Elapsed}");
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
            var clock = Stopwatch.StartNew();
            try
            {
                await app.StopResourceAsync("workerservice");
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the stop took {clock.Elapsed}");
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
        var clock = Stopwatch.StartNew();
        try
        {
            await app.StopResourceAsync("workerservice");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the stop took {clock.Elapsed}");
        }
        finally
        {
            await app.StartResourceAsync("workerservice");
        }

        Assert.All(await Task.WhenAll(posts), r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        await FaultScenarios.AssertExactTotalsAsync(app, user, 40 * 250);
    }
}
