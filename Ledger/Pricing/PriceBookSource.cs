using LlmCostTracker.Contracts;
using LlmCostTracker.Pricing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmCostTracker.Ledger.Pricing;

/// <summary>The prices in force: the catalog version in force (<see cref="CatalogStore"/>) and configuration, plus the
/// overrides stored through the admin API, looked for every <see cref="PricingOptions.RefreshInterval"/> (one GET of a
/// version counter that every change raises; the overrides and the catalog are read only when it moved, and a catalog
/// version is parsed once). The worker prices events with it and the API budget holds. A source
/// that <paramref name="reportsVersion"/> (each worker) records the version it prices with under
/// <see cref="LedgerKeys.PricingWorkersKey"/>, so an admin (and a test) can see when every replica has it.</summary>
public sealed class PriceBookSource(
    IConnectionMultiplexer redis, CatalogStore catalogs, IOptions<PricingOptions> options, TimeProvider clock, ILogger<PriceBookSource> logger, bool reportsVersion)
    : BackgroundService
{
    private readonly string _instance = $"{Environment.MachineName}:{Environment.ProcessId}";
    private PriceBook _current = options.Value.Build();
    private long _version = -1;

    public PriceBook Current => Volatile.Read(ref _current);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.RefreshInterval, clock);
        do
        {
            try
            {
                // Not waited for past shutdown: with Redis down a call waits for its timeout, which would hold the
                // host's stop for that long.
                await RefreshAsync().WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Whatever failed (a Redis timeout is a TimeoutException, not a RedisException), the prices in force
                // stay and the next tick tries again: an exception let out of a background service stops the host,
                // so a Redis stall longer than its timeout used to take the whole API or worker down.
                logger.LogWarning(ex, "Could not refresh price overrides; pricing with version {Version}", _version);
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task RefreshAsync()
    {
        var db = redis.GetDatabase();
        var version = (long?)await db.StringGetAsync(LedgerKeys.PricingVersionKey) ?? 0;
        if (version != _version)
        {
            var stored = await db.HashValuesAsync(LedgerKeys.PricingOverridesKey);
            var overrides = PriceOverrides.Read(stored.Select(v => v.ToString()));
            var (catalogVersion, catalog) = await catalogs.CurrentAsync();
            Volatile.Write(ref _current, options.Value.Build(overrides, catalog));
            if (_version >= 0)
            {
                logger.LogInformation("Pricing version {Version} applied: catalog version {CatalogVersion} ({Entries} entries), {Count} overrides",
                    version, catalogVersion, catalog.Models.Count, overrides.Count);
            }

            _version = version;
        }

        if (reportsVersion)
        {
            await db.HashSetAsync(LedgerKeys.PricingWorkersKey, _instance, $"{version}|{clock.GetUtcNow().ToUnixTimeSeconds()}");
        }
    }
}
