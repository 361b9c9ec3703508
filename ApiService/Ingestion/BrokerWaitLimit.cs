using Microsoft.Extensions.Options;

namespace LlmCostTracker.ApiService.Ingestion;

/// <summary>Ends every wait for the broker <see cref="IngestOptions.StopGrace"/> after the service is told to stop.
/// The server drains requests before it stops the hosted services, so without this a request waiting for a broker
/// that is down held the whole stop for its <see cref="IngestOptions.PublishTimeout"/>, past the service's stop
/// bound. With the broker up a confirm takes milliseconds and lands inside the grace: 202 as usual; with it
/// down the request gets its 503 (nothing acknowledged, the client retries), and the service stops within its bound.</summary>
public sealed class BrokerWaitLimit : IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenRegistration _registration;

    public BrokerWaitLimit(IHostApplicationLifetime lifetime, IOptions<IngestOptions> options)
    {
        var grace = options.Value.StopGrace;
        _registration = lifetime.ApplicationStopping.Register(() => _stopping.CancelAfter(grace));
    }

    /// <summary>Cancelled once the grace after the stop began has passed.</summary>
    public CancellationToken Stopped => _stopping.Token;

    public void Dispose()
    {
        _registration.Dispose();
        _stopping.Dispose();
    }
}
