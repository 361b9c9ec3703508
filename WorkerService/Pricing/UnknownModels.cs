using LlmCostTracker.Contracts;
using LlmCostTracker.Ledger;
using LlmCostTracker.Pricing;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmCostTracker.WorkerService.Pricing;

/// <summary>Counts, per month, the model ids priced at the fallback (requests and cost charged), so an admin sees
/// what to add (<c>GET /api/v1/admin/pricing/unknown-models</c>). Counted in memory for the events the ledger
/// counted (not duplicates) and written every <see cref="PricingOptions.UnknownModelsFlushInterval"/>: not on the
/// message's path, where a Redis round trip would wait behind the next ledger write's scripts before the message
/// could be acknowledged. A worker that dies loses at most one interval of this list (never of the totals).</summary>
public sealed class UnknownModels(IConnectionMultiplexer redis, IOptions<PricingOptions> options, TimeProvider clock, ILogger<UnknownModels> logger)
    : BackgroundService
{
    private readonly Lock _lock = new();
    private Dictionary<(string Month, string Model), (long Requests, long Cost)> _pending = [];

    public void Record(LlmUsage usage, long costMicros)
    {
        var key = (UsageMonth.Of(usage.OccurredAt).Key, usage.Model);
        lock (_lock)
        {
            var (requests, cost) = _pending.GetValueOrDefault(key);
            _pending[key] = (requests + 1, cost + costMicros);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.UnknownModelsFlushInterval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                // Not waited for past the stop: with Redis down a flush waits out the client's timeout.
                await FlushAsync().WaitAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        // The last counts, unless Redis is unreachable: then the flush could only wait out the client's timeout and
        // fail, holding the stop past its bound (these are statistics; the totals are in the ledger).
        if (redis.IsConnected)
        {
            await FlushAsync();
        }
    }

    private async Task FlushAsync()
    {
        Dictionary<(string Month, string Model), (long Requests, long Cost)> counts;
        lock (_lock)
        {
            if (_pending.Count == 0)
            {
                return;
            }

            (counts, _pending) = (_pending, []);
        }

        try
        {
            // One transaction: a report read between a model's request count and its cost (a pipelined batch) showed
            // the requests with no cost. Every key shares the {llmcost} slot, so this is one MULTI on a cluster too.
            var flush = redis.GetDatabase().CreateTransaction();
            var writes = new List<Task>();
            foreach (var ((month, model), (requests, cost)) in counts)
            {
                var key = LedgerKeys.UnknownModels(month);
                writes.Add(flush.HashIncrementAsync(key, $"{model}|{LedgerKeys.Requests}", requests));
                writes.Add(flush.HashIncrementAsync(key, $"{model}|{LedgerKeys.Cost}", cost));
                writes.Add(flush.KeyExpireAsync(key, UsageMonth.Parse(month).ExpiresAt.UtcDateTime));
            }

            if (!await flush.ExecuteAsync())
            {
                throw new InvalidOperationException("The unknown-model counts' transaction was not applied.");
            }

            await Task.WhenAll(writes);
        }
        catch (Exception ex)
        {
            // Statistics, not the ledger: put them back for the next flush. Any exception (a Redis timeout is a
            // TimeoutException, not a RedisException): one let out of this background service would stop the worker.
            logger.LogWarning(ex, "Could not record {Count} unknown-model counts; trying again at the next flush", counts.Count);
            lock (_lock)
            {
                foreach (var (key, (requests, cost)) in counts)
                {
                    var (r, c) = _pending.GetValueOrDefault(key);
                    _pending[key] = (r + requests, c + cost);
                }
            }
        }
    }
}
