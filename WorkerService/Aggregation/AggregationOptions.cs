using System.ComponentModel.DataAnnotations;

namespace LlmCostTracker.WorkerService.Aggregation;

/// <summary>How the worker coalesces messages into ledger writes (section <c>Aggregation</c>).</summary>
public sealed class AggregationOptions
{
    public const string SectionName = "Aggregation";

    /// <summary>The most events one ledger write takes from the messages waiting for it.</summary>
    [Range(1, 1_000_000)]
    public int MaxEventsPerWrite { get; set; } = 20_000;

    /// <summary>Ledger writes in flight at once: one can be in Redis while the next gathers messages.</summary>
    [Range(1, 64)]
    public int ConcurrentWrites { get; set; } = 2;

    /// <summary>Messages the worker consumes at once (and twice that prefetched): the pool a write coalesces.</summary>
    [Range(1, 1_000)]
    public int ConcurrentMessages { get; set; } = 64;
}
