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
        var stop = Bounded(depot, TimeSpan.FromMilliseconds(200));
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
        var stop = Bounded(depot, TimeSpan.FromSeconds(30));

        await stop.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(depot.StopCalled);
    }

    [Fact]
    public async Task Disposing_after_a_stop_that_ran_out_its_bound_does_not_stop_the_bus_a_second_time()
    {
        var depot = new StuckDepot();
        var stop = Bounded(depot, TimeSpan.FromMilliseconds(200));
        await stop.StartAsync(CancellationToken.None);
        await stop.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        // MassTransit's own dispose would wait for the bus's stop again, a second bound; the host's dispose is not bounded.
        await stop.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(1, depot.StopCalls);
    }

    [Fact]
    public async Task Disposing_a_bus_never_stopped_stops_it_within_the_bound()
    {
        var depot = new StuckDepot();
        var stop = Bounded(depot, TimeSpan.FromMilliseconds(200));
        await stop.StartAsync(CancellationToken.None);

        await stop.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(1, depot.StopCalls);
        Assert.False(depot.Stopping.Task.IsCompleted);
    }

    private static BoundedBusStop Bounded(IBusDepot depot, TimeSpan stopTimeout) =>
        new(depot, Options.Create(new MassTransitHostOptions { StopTimeout = stopTimeout }), NullLogger<BoundedBusStop>.Instance);

    /// <summary>A bus whose stop ignores its token and ends only when told to, as one waiting for a connect does.</summary>
    private sealed class StuckDepot : IBusDepot
    {
        public TaskCompletionSource Stopping { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool StopCalled => StopCalls > 0;

        public int StopCalls { get; private set; }

        public Task Start(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task Stop(CancellationToken cancellationToken)
        {
            StopCalls++;
            return Stopping.Task;
        }
    }
}
