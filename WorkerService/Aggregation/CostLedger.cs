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
    RollupWriter? rollups = null, ClaimWindow? claims = null, IOptions<AggregationOptions>? aggregation = null)
{
    private readonly AggregationOptions _aggregation = aggregation?.Value ?? new AggregationOptions();
    private readonly Lock _valuesLock = new();
    private int _windowCalls, _windowNeeded;
    private bool _withoutValues = true;

    /// <summary>Whether the next calls go without their events' values (<see cref="AggregationOptions.ValuesOnDemandMaxShare"/>).</summary>
    public bool SendsWithoutValues => Volatile.Read(ref _withoutValues);

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

        var lean = Volatile.Read(ref _withoutValues);
        var calls = chunks.Select(chunk => Send(chunk, withValues: !lean)).ToList();
        var needed = 0;
        using (var span = RedisSpans.Start("EVALSHA", calls.Count))
        {
            span?.SetTag("llmcost.events", events.Count);
            await Task.WhenAll(calls);
            for (var c = 0; lean && c < chunks.Count; c++)
            {
                if (ApplyUsageCall.NeedsValues(calls[c].Result))
                {
                    calls[c] = Send(chunks[c], withValues: true);
                    needed++;
                }
            }

            span?.SetTag("llmcost.calls_sent_again", needed);
            await Task.WhenAll(calls);
        }

        for (var c = 0; c < chunks.Count; c++)
        {
            var chunk = chunks[c];
            var order = chunk.EventOrder();
            var reply = ApplyUsageCall.Decode(calls[c].Result);
            if (!lean && (reply.DuplicatePositions.Count > 0 || reply.Alerts.Count > 0))
            {
                // A call with its values that would have needed them.
                needed++;
            }

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

        Observe(chunks.Count, needed);
        return new LedgerResult(alerts, duplicate);
    }

    /// <summary>Counts calls and those that needed their events' values, and at the end of each window chooses how the
    /// next calls go: without the values while few needed them (batches of fresh events), with them otherwise (e.g.
    /// single events re-posted by retrying clients, where most calls of ~100 events hold a duplicate).</summary>
    private void Observe(int calls, int needed)
    {
        lock (_valuesLock)
        {
            _windowCalls += calls;
            _windowNeeded += needed;
            if (_windowCalls >= _aggregation.ValuesOnDemandWindow)
            {
                Volatile.Write(ref _withoutValues, _windowNeeded < _aggregation.ValuesOnDemandMaxShare * _windowCalls);
                (_windowCalls, _windowNeeded) = (0, 0);
            }
        }
    }
}
