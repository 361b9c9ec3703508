using System.ComponentModel.DataAnnotations;

namespace LlmCostTracker.WorkerService.Aggregation;

/// <summary>How the worker coalesces messages into ledger writes (section <c>Aggregation</c>).</summary>
public sealed class AggregationOptions
{
    public const string SectionName = "Aggregation";

    /// <summary>The most events one ledger write takes from the messages waiting for it. Bigger writes hold more
    /// events per user, and a user's share of a script call is most of its cost in Redis. It matters only under
    /// batches: the pool of <see cref="ConcurrentMessages"/> bounds a write, and under single events that pool holds
    /// a few thousand events at most. Memory is bounded by that pool too, not by this cap (docs/benchmarks-history.md,
    /// stop 61).</summary>
    [Range(1, 1_000_000)]
    public int MaxEventsPerWrite { get; set; } = 100_000;

    /// <summary>Ledger writes in flight at once. With one, each write takes everything that arrived while the last
    /// ran, and Redis pays its per-user cost once for all of it; with two, writes alternated between full and nearly
    /// empty, and the small ones waited in Redis behind the full ones anyway (BENCHMARKS.md).</summary>
    [Range(1, 64)]
    public int ConcurrentWrites { get; set; } = 1;

    /// <summary>Messages the worker consumes at once (and twice that prefetched): the pool a write coalesces. A
    /// message stays in it until the write holding its events has ended, so the pool bounds how much a write can
    /// take: at 80, under sustained single events (the API's messages then hold ~30 events each) every write held
    /// nearly the whole pool and the worker fell further behind each second; at 200 it keeps up, for ~250 MB more
    /// working set under batch load (docs/benchmarks-history.md, stop 58).</summary>
    [Range(1, 1_000)]
    public int ConcurrentMessages { get; set; } = 200;

    /// <summary>How long a write waits for more events when fewer than a quarter of
    /// <see cref="MaxEventsPerWrite"/> and fewer than half of <see cref="ConcurrentMessages"/> are waiting (zero:
    /// write at once). Totals lag by up to this much more under light load.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:05")]
    public TimeSpan MaxWriteDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Ledger calls go first without each event's values (which the script reads only for a duplicate or a
    /// threshold crossed, asking for them then, so the call goes twice) while fewer than this share of the last
    /// <see cref="ValuesOnDemandWindow"/> calls would have needed them; past it, calls go with them. A call without them
    /// costs Redis less, one that must go again costs it more: the break-even is this share (BENCHMARKS.md and
    /// docs/benchmarks-history.md, stop 61). 0: every call with them.</summary>
    [Range(0.0, 1.0)]
    public double ValuesOnDemandMaxShare { get; set; } = 0.2;

    /// <summary>The ledger calls over which that share is counted, before the choice is made again.</summary>
    [Range(1, 100_000)]
    public int ValuesOnDemandWindow { get; set; } = 64;

    /// <summary>How often the worker counts the usage messages in <c>llm-usage-aggregation_error</c>.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan DeadLetterPollInterval { get; set; } = TimeSpan.FromSeconds(10);
}
