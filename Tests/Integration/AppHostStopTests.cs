using System.Collections.Concurrent;

namespace LlmCostTracker.Tests.Integration;

/// <summary>The AppHost's own stop (Ctrl+C in <c>eng/run.sh</c>), on an app of its own since it ends that app.</summary>
public sealed class AppHostStopTests
{
    private static readonly string[] Services = ["apiservice", "workerservice", "costdashboard"];
    private static readonly string[] Infrastructure = ["redis", "rabbitmq", "postgres"];

    [Fact]
    public async Task Stopping_the_AppHost_stops_the_services_before_Redis_the_broker_and_PostgreSQL()
    {
        var fixture = new StopAppFixture();
        var seen = new ConcurrentQueue<(string Name, string Id, string? State, int? ExitCode)>();
        using var watching = new CancellationTokenSource(AppFixture.StartTimeout + AppFixture.DefaultTimeout);
        var watch = Task.CompletedTask;
        try
        {
            await fixture.InitializeAsync();
            // The fixture waits for the API and the worker; the cost dashboard starts only once the API is healthy. Stopped
            // while still waiting, it never runs (it shows FailedToStart), and this test is about services that run.
            using (var ready = new CancellationTokenSource(AppFixture.StartTimeout))
            {
                await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync("costdashboard", ready.Token);
            }

            var watched = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            watch = Task.Run(async () =>
            {
                try
                {
                    await foreach (var e in fixture.App.ResourceNotifications.WatchAsync(watching.Token))
                    {
                        seen.Enqueue((e.Resource.Name, e.ResourceId, e.Snapshot.State?.Text, e.Snapshot.ExitCode));
                        watched.TrySetResult();
                    }
                }
                catch (OperationCanceledException)
                {
                }
            });
            // Once the watch has yielded (it starts with every resource's state), it is subscribed: no change of the stop is missed.
            await watched.Task.WaitAsync(AppFixture.DefaultTimeout);
            using var stopping = new CancellationTokenSource(AppFixture.DefaultTimeout);
            await fixture.App.StopAsync(stopping.Token);
        }
        finally
        {
            // Also when the start failed: whatever it started is stopped.
            await watching.CancelAsync();
            await watch;
            await fixture.DisposeAsync();
        }

        var events = seen.ToList();
        var trail = string.Join(", ", events.Select(e => $"{e.Id}={e.State}({e.ExitCode})"));
        // The index of the event at which each service showed stopped; every one must have.
        var stoppedAt = Services.ToDictionary(s => s, s => events.FindIndex(e => e.Name == s && AppFixture.HasStopped(e.State)));
        Assert.True(stoppedAt.Values.All(i => i >= 0), $"every service stopped; seen: {trail}");
        var lastService = stoppedAt.Values.Max();
        // Until then each server still showed Running: none had begun to stop.
        for (var i = 0; i <= lastService; i++)
        {
            Assert.False(Infrastructure.Contains(events[i].Name) && events[i].State != "Running", $"{events[i].Id} showed {events[i].State} before the services had stopped; seen: {trail}");
        }
    }

    /// <summary>The app as the tests start it, with nothing exported and no webhooks.</summary>
    private sealed class StopAppFixture : AppFixture;
}
