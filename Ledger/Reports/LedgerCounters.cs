namespace LlmCostTracker.Ledger.Reports;

/// <summary>A month's counters as the ledger keeps them (cost in micro-USD, then token and request counts), in
/// <see cref="LedgerKeys.Counters"/> order where they are packed.</summary>
public readonly record struct LedgerCounters(long Cost, long Input, long Cached, long Output, long Requests, long CacheWrite, long Reasoning)
{
    /// <summary>A model field's counters, in <see cref="LedgerKeys.Counters"/> order.</summary>
    public static LedgerCounters FromPacked(long[] c) => new(c[0], c[1], c[2], c[3], c[4], c[5], c[6]);

    public static LedgerCounters operator +(LedgerCounters a, LedgerCounters b) =>
        new(a.Cost + b.Cost, a.Input + b.Input, a.Cached + b.Cached, a.Output + b.Output, a.Requests + b.Requests,
            a.CacheWrite + b.CacheWrite, a.Reasoning + b.Reasoning);

    /// <summary>This with one totals field (<see cref="LedgerKeys.Cost"/>, ...) set; any other field leaves it as is.</summary>
    public LedgerCounters With(string field, long value) => field switch
    {
        LedgerKeys.Cost => this with { Cost = value },
        LedgerKeys.Input => this with { Input = value },
        LedgerKeys.Cached => this with { Cached = value },
        LedgerKeys.Output => this with { Output = value },
        LedgerKeys.Requests => this with { Requests = value },
        LedgerKeys.CacheWrite => this with { CacheWrite = value },
        LedgerKeys.Reasoning => this with { Reasoning = value },
        _ => this,
    };
}
