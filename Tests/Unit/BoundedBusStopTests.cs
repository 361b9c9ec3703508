using LlmCostTracker.Messaging;
using MassTransit;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace LlmCostTracker.Tests.Unit;

/// <summary>The service's stop does not wait for a bus that does not stop: MassTransit's own stop waits for a broker
/// connect in flight, which takes no cancellation (issue #29).</summary>
public sealed class BoundedBusStopTests
{
    [Fact]
    public async Task The_stop_returns_at_its_bound_when_the_bus_never_finishes_stopping()
    {
        var depot = new StuckDepot();
        var stop = new BoundedBusStop(depot, Options.Create(new MassTransitHostOptions { StopTimeout = TimeSpan.FromMilliseconds(200) }),
            NullLogger<BoundedBusStop>.Instance);
        await stop.StartAsync(CancellationToken.None);

        // The host's own bound is far longer: only the stop's bound can end it this soon.
        await stop.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(depot.StopCalled);
        Assert.False(depot.Stopping.Task.IsCompleted);
    }

    [Fact]
    public async Task A_bus_that_stops_in_time_is_waited_for()
    {
        var depot = new StuckDepot();
        depot.Stopping.SetResult();
        var stop = new BoundedBusStop(depot, Options.Create(new MassTransitHostOptions { StopTimeout = TimeSpan.FromSeconds(30) }),
            NullLogger<BoundedBusStop>.Instance);

        await stop.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(depot.StopCalled);
    }

    /// <summary>A bus whose stop ignores its token and ends only when told to, as one waiting for a connect does.</summary>
    private sealed class StuckDepot : IBusDepot
    {
        public TaskCompletionSource Stopping { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool StopCalled { get; private set; }

        public Task Start(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task Stop(CancellationToken cancellationToken)
        {
            StopCalled = true;
            return Stopping.Task;
        }
    }
}
