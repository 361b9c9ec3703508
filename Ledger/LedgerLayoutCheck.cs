using Microsoft.Extensions.Hosting;
using LlmCostTracker.Contracts;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmCostTracker.Ledger;

/// <summary>Refuses to start on a ledger written with another bucket count (see <see cref="LedgerKeys.CheckStoredLayoutAsync"/>).</summary>
public sealed class LedgerLayoutCheck(IConnectionMultiplexer redis, LedgerKeys keys, IOptions<LedgerOptions> options, TimeProvider clock) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => keys.CheckStoredLayoutAsync(
        async () => await redis.GetDatabase().StringSetAndGetAsync(LedgerKeys.LayoutKey, keys.Buckets, when: When.NotExists),
        ex => ex is RedisConnectionException or RedisTimeoutException, options.Value, clock, cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
