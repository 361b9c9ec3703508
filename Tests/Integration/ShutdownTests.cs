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
}
