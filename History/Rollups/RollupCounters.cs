using System.Text.Json;
using LlmCostTracker.Contracts;
using LlmCostTracker.Ledger;

namespace LlmCostTracker.History.Rollups;

/// <summary>A row of <c>usage_daily</c>: a day, user, model, provider, service tier and context band.</summary>
public readonly record struct UsageKey(DateOnly Day, string UserId, string Model, string Provider, string ServiceTier, long ContextBand);

/// <summary>A row of <c>tag_daily</c>: a day, a tag dimension, its value and the model (so a tag's month from history
/// has its spend by model, as in Redis).</summary>
public readonly record struct TagKey(DateOnly Day, string Dimension, string Value, string Model);

/// <summary>A rollup row's counters, in the order they are written in a delta.</summary>
public struct RollupCounters
{
    public const int Count = 10;

    public long Requests;
    public long Input;
    public long Cached;
    public long CacheWrite;
    public long CacheWrite1h;
    public long AudioInput;
    public long Output;
    public long Reasoning;
    public long AudioOutput;
    public long CostMicros;

    public void Add(LlmUsage usage, long costMicros)
    {
        Requests++;
        Input += usage.InputTokens;
        Cached += usage.CachedInputTokens;
        CacheWrite += usage.CacheWriteInputTokens;
        CacheWrite1h += usage.CacheWrite1hInputTokens;
        AudioInput += usage.AudioInputTokens;
        Output += usage.OutputTokens;
        Reasoning += usage.ReasoningOutputTokens;
        AudioOutput += usage.AudioOutputTokens;
        CostMicros += costMicros;
    }

    public void Add(in RollupCounters other)
    {
        Requests += other.Requests;
        Input += other.Input;
        Cached += other.Cached;
        CacheWrite += other.CacheWrite;
        CacheWrite1h += other.CacheWrite1h;
        AudioInput += other.AudioInput;
        Output += other.Output;
        Reasoning += other.Reasoning;
        AudioOutput += other.AudioOutput;
        CostMicros += other.CostMicros;
    }

    public void Subtract(in RollupCounters other)
    {
        Requests -= other.Requests;
        Input -= other.Input;
        Cached -= other.Cached;
        CacheWrite -= other.CacheWrite;
        CacheWrite1h -= other.CacheWrite1h;
        AudioInput -= other.AudioInput;
        Output -= other.Output;
        Reasoning -= other.Reasoning;
        AudioOutput -= other.AudioOutput;
        CostMicros -= other.CostMicros;
    }

    internal static RollupCounters Read(JsonElement row, int from) => new()
    {
        Requests = row[from].GetInt64(),
        Input = row[from + 1].GetInt64(),
        Cached = row[from + 2].GetInt64(),
        CacheWrite = row[from + 3].GetInt64(),
        CacheWrite1h = row[from + 4].GetInt64(),
        AudioInput = row[from + 5].GetInt64(),
        Output = row[from + 6].GetInt64(),
        Reasoning = row[from + 7].GetInt64(),
        AudioOutput = row[from + 8].GetInt64(),
        CostMicros = row[from + 9].GetInt64(),
    };

    // Where each counter sits among the ones a ledger script packs for an event (LedgerKeys.Counters).
    private static readonly int LedgerCost = Array.IndexOf(LedgerKeys.Counters, LedgerKeys.Cost);
    private static readonly int LedgerInput = Array.IndexOf(LedgerKeys.Counters, LedgerKeys.Input);
    private static readonly int LedgerCached = Array.IndexOf(LedgerKeys.Counters, LedgerKeys.Cached);
    private static readonly int LedgerOutput = Array.IndexOf(LedgerKeys.Counters, LedgerKeys.Output);
    private static readonly int LedgerRequests = Array.IndexOf(LedgerKeys.Counters, LedgerKeys.Requests);
    private static readonly int LedgerCacheWrite = Array.IndexOf(LedgerKeys.Counters, LedgerKeys.CacheWrite);
    private static readonly int LedgerReasoning = Array.IndexOf(LedgerKeys.Counters, LedgerKeys.Reasoning);

    /// <summary>An event's counters from the ones a ledger script packs (<see cref="LedgerKeys.Counters"/>, from
    /// <paramref name="from"/>) and the three it does not carry.</summary>
    internal static RollupCounters FromLedger(JsonElement packed, int from, long cacheWrite1h, long audioInput, long audioOutput) => new()
    {
        Requests = packed[from + LedgerRequests].GetInt64(),
        Input = packed[from + LedgerInput].GetInt64(),
        Cached = packed[from + LedgerCached].GetInt64(),
        CacheWrite = packed[from + LedgerCacheWrite].GetInt64(),
        CacheWrite1h = cacheWrite1h,
        AudioInput = audioInput,
        Output = packed[from + LedgerOutput].GetInt64(),
        Reasoning = packed[from + LedgerReasoning].GetInt64(),
        AudioOutput = audioOutput,
        CostMicros = packed[from + LedgerCost].GetInt64(),
    };
}
