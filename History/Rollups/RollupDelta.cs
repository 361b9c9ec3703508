using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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

    internal readonly void Write(Utf8JsonWriter json)
    {
        json.WriteNumberValue(Requests);
        json.WriteNumberValue(Input);
        json.WriteNumberValue(Cached);
        json.WriteNumberValue(CacheWrite);
        json.WriteNumberValue(CacheWrite1h);
        json.WriteNumberValue(AudioInput);
        json.WriteNumberValue(Output);
        json.WriteNumberValue(Reasoning);
        json.WriteNumberValue(AudioOutput);
        json.WriteNumberValue(CostMicros);
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

/// <summary>The daily rollup sums of some usage, as the writer adds up a bucket's stream entries before one
/// transaction. An entry's text (written by <see cref="RollupDeltaBuilder"/>, stored by the ledger script without
/// reading it) is JSON, <c>{"u":[[day,user,model,provider,tier,band,counters...]],"t":[[day,dimension,value,model,counters...]],"e":[...]}</c>,
/// counters in <see cref="RollupCounters"/> order, <c>e</c> the rows of each of the call's events. (A tag row written
/// before tags kept the model, <c>[day,dimension,value,counters...]</c>, is read with the model <c>""</c>; an entry
/// written before <c>e</c> existed never has duplicates beside it.)</summary>
public sealed class RollupDelta
{
    internal const string UsageRows = "u";
    internal const string TagRows = "t";
    internal const string EventRows = "e";

    public Dictionary<UsageKey, RollupCounters> Usage { get; } = [];

    public Dictionary<TagKey, RollupCounters> Tags { get; } = [];

    public bool IsEmpty => Usage.Count == 0 && Tags.Count == 0;

    /// <summary>Adds an encoded delta's rows to this one. <paramref name="duplicates"/>: the events of its ledger call
    /// that were already counted (<see cref="LedgerKeys.RollupDuplicatesField"/>), <c>[[position, counters...]]</c>
    /// with each event's 1-based position in the call and its counters in <see cref="LedgerKeys.Counters"/> order;
    /// each is taken out again from the rows the delta lists for it.</summary>
    public void AddEncoded(ReadOnlySpan<byte> encoded, ReadOnlySpan<byte> duplicates = default)
    {
        var reader = new Utf8JsonReader(encoded);
        using var document = JsonDocument.ParseValue(ref reader);
        var root = document.RootElement;
        // Only an entry with duplicates needs its rows by index.
        var usageKeys = duplicates.IsEmpty ? null : new List<UsageKey>();
        var tagKeys = duplicates.IsEmpty ? null : new List<TagKey>();
        // An entry's rows are nearly always of one day: its text is parsed once.
        var day = default(DateOnly);
        string? dayText = null;
        DateOnly DayOf(JsonElement text) => dayText is not null && text.ValueEquals(dayText) ? day : day = HistoryDays.Parse(dayText = text.GetString()!);
        foreach (var row in root.GetProperty(UsageRows).EnumerateArray())
        {
            var key = new UsageKey(DayOf(row[0]), Text(row[1]), Text(row[2]), Text(row[3]), Text(row[4]), row[5].GetInt64());
            CollectionsMarshal.GetValueRefOrAddDefault(Usage, key, out _).Add(RollupCounters.Read(row, 6));
            usageKeys?.Add(key);
        }

        foreach (var row in root.GetProperty(TagRows).EnumerateArray())
        {
            var withModel = row.GetArrayLength() > 3 + RollupCounters.Count;
            var key = new TagKey(DayOf(row[0]), Text(row[1]), Text(row[2]), withModel ? Text(row[3]) : "");
            CollectionsMarshal.GetValueRefOrAddDefault(Tags, key, out _).Add(RollupCounters.Read(row, withModel ? 4 : 3));
            tagKeys?.Add(key);
        }

        if (usageKeys is not null)
        {
            TakeOut(root.GetProperty(EventRows), duplicates, usageKeys, tagKeys!);
        }
    }

    private static string Text(JsonElement text) => UnreadableEntry.Text(text, "A rollup row's field");

    private void TakeOut(JsonElement events, ReadOnlySpan<byte> duplicates, List<UsageKey> usageKeys, List<TagKey> tagKeys)
    {
        var reader = new Utf8JsonReader(duplicates);
        using var document = JsonDocument.ParseValue(ref reader);
        foreach (var duplicate in document.RootElement.EnumerateArray())
        {
            var rows = events[duplicate[0].GetInt32() - 1];
            if (rows.ValueKind == JsonValueKind.Number)
            {
                Subtract(Usage, usageKeys[rows.GetInt32()], RollupCounters.FromLedger(duplicate, 1, 0, 0, 0));
                continue;
            }

            var counters = RollupCounters.FromLedger(duplicate, 1, rows[1].GetInt64(), rows[2].GetInt64(), rows[3].GetInt64());
            Subtract(Usage, usageKeys[rows[0].GetInt32()], counters);
            for (var t = 4; t < rows.GetArrayLength(); t++)
            {
                Subtract(Tags, tagKeys[rows[t].GetInt32()], counters);
            }
        }
    }

    /// <summary>Takes an event out of a row it was added to; a row left without requests had only duplicates, and
    /// goes (it would otherwise be written as a row of zeros).</summary>
    private static void Subtract<TKey>(Dictionary<TKey, RollupCounters> rows, TKey key, in RollupCounters counters) where TKey : notnull
    {
        ref var row = ref CollectionsMarshal.GetValueRefOrNullRef(rows, key);
        if (Unsafe.IsNullRef(ref row))
        {
            throw new InvalidDataException($"A rollup delta's duplicate names a row it does not have: {key}.");
        }

        row.Subtract(counters);
        if (row.Requests == 0)
        {
            rows.Remove(key);
        }
    }
}
