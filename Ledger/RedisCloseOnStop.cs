using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace LlmCostTracker.Ledger;

/// <summary>Closes the Redis connection without waiting for Redis once the service has stopped (every hosted
/// service done, so nothing needs it any more). Disposing the connection, which the container does next, first
/// sends QUIT to every server and waits for the answers up to the client's timeout: 5 s with Redis hanging (paused,
/// or down behind the orchestrator's proxy, which accepts and never answers), past the service's stop bound.</summary>
public sealed class RedisCloseOnStop(IConnectionMultiplexer redis, IHostApplicationLifetime lifetime) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStopped.Register(() => redis.Close(allowCommandsToComplete: false));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
