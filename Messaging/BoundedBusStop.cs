using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LlmCostTracker.Messaging;

/// <summary>MassTransit's hosted service, with a stop that returns within its bound whatever the bus is doing. The bus's
/// own stop waits for its agents, and a connect to the broker in flight ignores cancellation; past the bound, what the
/// bus still holds is unacknowledged, so the broker redelivers it and the ledger's claims count it once.</summary>
public sealed class BoundedBusStop(IBusDepot depot, IOptions<MassTransitHostOptions> options, ILogger<BoundedBusStop> logger)
    : IHostedService, IAsyncDisposable
{
    private readonly MassTransitHostedService _bus = new(depot, options);

    public Task StartAsync(CancellationToken cancellationToken) => _bus.StartAsync(cancellationToken);

    private bool _stopAttempted;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopAttempted = true;
        var bound = options.Value.StopTimeout ?? TimeSpan.FromSeconds(5);
        try
        {
            await _bus.StopAsync(cancellationToken).WaitAsync(bound, cancellationToken);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            logger.LogWarning("The bus had not stopped after {Bound}; the service stops without it, and the broker redelivers what was unacknowledged", bound);
        }
    }

    /// <summary>MassTransit's dispose stops the bus again, with a second full bound, when its stop has not finished:
    /// after a stop that already ran out its bound that would double the service's. A bus never stopped (the host's
    /// start failed) is stopped here, within the bound.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stopAttempted)
        {
            return;
        }

        try
        {
            await _bus.DisposeAsync().AsTask().WaitAsync(options.Value.StopTimeout ?? TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
            logger.LogWarning("The bus had not stopped within its bound when the service was disposed");
        }
    }
}

public static class BoundedBusStopExtensions
{
    /// <summary>Puts <see cref="BoundedBusStop"/> where AddMassTransit registered its hosted service, so that hosted
    /// services registered before the bus still stop after it. Call after AddMassTransit.</summary>
    public static IServiceCollection AddBoundedBusStop(this IServiceCollection services)
    {
        var index = services.ToList().FindIndex(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(MassTransitHostedService));
        if (index < 0)
        {
            throw new InvalidOperationException("AddMassTransit registered no MassTransitHostedService: call AddBoundedBusStop after it.");
        }

        services[index] = ServiceDescriptor.Singleton<IHostedService, BoundedBusStop>();
        return services;
    }
}
