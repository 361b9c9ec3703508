using LlmCostTracker.Contracts;
using LlmCostTracker.History.Rollups;
using LlmCostTracker.Ledger;
using LlmCostTracker.WorkerService.Attribution;
using LlmCostTracker.WorkerService.Budgets;
using LlmCostTracker.WorkerService.Chunks;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmCostTracker.WorkerService.Aggregation;

/// <summary>What applying usage did. <see cref="Duplicate"/> has one flag per event passed in, set for the events
/// that were already counted (redelivered, re-posted, or repeated in the same call); each alert's
/// <see cref="CrossedThreshold.EventIndex"/> indexes the same events.</summary>
public sealed record LedgerResult(IReadOnlyList<CrossedThreshold> Alerts, bool[] Duplicate)
{
    // Counted once (a message reads both), by a span count: LINQ's predicate call an event showed in the worker's
    // profile under batches (docs/benchmarks-history.md, stop 60).
    public int Duplicates { get; } = Duplicate.AsSpan().Count(true);

    public int Applied => Duplicate.Length - Duplicates;
}

/// <summary>Aggregates priced usage per user per month in Redis, exactly once per event id within the dedup window
/// (<see cref="ClaimWindow"/>): one script call per
/// ledger bucket, month and <see cref="ChunkEvents"/> events applies those users' and the bucket's month increments
/// atomically; the calls are pipelined, and spread over the shards of a Redis Cluster.
/// Tagged events (<see cref="TagAttribution"/>, when given) pass the cardinality guard before the write; their sums
/// go to the bucket's tag deltas in the same step (<see cref="TagDelta"/>), folded by <see cref="TagFolder"/>.</summary>
public sealed class CostLedger(
    IConnectionMultiplexer redis, LedgerKeys keys, IOptions<BudgetOptions> budgets, IOptions<LedgerOptions> ledger, TimeProvider clock, TagAttribution? tags = null,
    RollupWriter? rollups = null, ClaimWindow? claims = null)
{
    /// <summary>The service's (AddLedger), whose claim form the layout check has read; a window of its own where a
    /// test or benchmark makes one, with the current form only.</summary>
    private readonly ClaimWindow _claims = claims ?? new(ledger.Value.DedupWindow);

    /// <summary>The most events one script call takes.</summary>
    public const int ChunkEvents = 2_000;

    public async Task<LedgerResult> ApplyAsync(IReadOnlyList<PricedUsage> events)
    {
        if (tags is not null)
        {
            events = await tags.MapAsync(events);
        }

        var db = redis.GetDatabase();
        var options = budgets.Value;
        var defaultBudget = options.DefaultMonthlyBudgetMicros;
        var chunks = LedgerChunk.Plan(keys, events, ChunkEvents);
        // The events' arrival: their claims are kept for the dedup window from now, whatever their occurredAt.
        var now = clock.GetUtcNow();
        var alerts = new List<CrossedThreshold>();
        var duplicate = new bool[events.Count];
        // Each call goes first without its events' values; the few that need them (a duplicate, a threshold crossed)
        // changed nothing and go again with them.
        Task<RedisResult> Send(LedgerChunk chunk, bool withValues)
        {
            var call = ApplyUsageCall.Encode(keys, chunk, events, defaultBudget, options.ThresholdsPercent, _claims, now, rollups is not null, withValues);
            return ApplyUsageCall.Script.EvaluateAsync(db, call.Keys, call.Args);
        }

        var calls = chunks.Select(chunk => Send(chunk, withValues: false)).ToList();
        using (var span = RedisSpans.Start("EVALSHA", calls.Count))
        {
            span?.SetTag("llmcost.events", events.Count);
            await Task.WhenAll(calls);
            var again = 0;
            for (var c = 0; c < chunks.Count; c++)
            {
                if (ApplyUsageCall.NeedsValues(calls[c].Result))
                {
                    calls[c] = Send(chunks[c], withValues: true);
                    again++;
                }
            }

            span?.SetTag("llmcost.calls_with_values", again);
            await Task.WhenAll(calls);
        }

        for (var c = 0; c < chunks.Count; c++)
        {
            var chunk = chunks[c];
            var order = chunk.EventOrder();
            var reply = ApplyUsageCall.Decode(calls[c].Result);
            foreach (var position in reply.DuplicatePositions)
            {
                duplicate[order[position]] = true;
            }

            foreach (var alert in reply.Alerts)
            {
                alerts.Add(new CrossedThreshold(chunk.Users[alert.UserPosition].UserId, chunk.Month.Key, alert.ThresholdPercent,
                    alert.SpentMicros, alert.BudgetMicros, alert.EventPosition is { } position ? order[position] : null, alert.CrossedAt));
            }
        }

        return new LedgerResult(alerts, duplicate);
    }
}
