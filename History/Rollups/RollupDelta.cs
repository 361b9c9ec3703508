using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;
using LlmCostTracker.Contracts;

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
}

/// <summary>The daily rollup sums of some usage: what one ledger call appends to its bucket's rollup stream (in the
/// same atomic step as it counts the events), and what the writer sums from many entries before one transaction.
/// Its text is JSON, <c>{"u":[[day,user,model,provider,tier,band,counters...]],"t":[[day,dimension,value,model,counters...]]}</c>,
/// counters in <see cref="RollupCounters"/> order; the ledger script stores it without reading it. (A tag row written
/// before tags kept the model, <c>[day,dimension,value,counters...]</c>, is read with the model <c>""</c>.)</summary>
public sealed class RollupDelta
{
    public Dictionary<UsageKey, RollupCounters> Usage { get; } = [];

    public Dictionary<TagKey, RollupCounters> Tags { get; } = [];

    public bool IsEmpty => Usage.Count == 0 && Tags.Count == 0;

    /// <summary>Adds one counted event: its row, and a tag row per tag it carries.</summary>
    public void Add(LlmUsage usage, long costMicros, string provider, string serviceTier, long contextBand)
    {
        var day = DateOnly.FromDateTime(usage.OccurredAt.UtcDateTime);
        CollectionsMarshal.GetValueRefOrAddDefault(Usage, new UsageKey(day, usage.UserId, usage.Model, provider, serviceTier, contextBand), out _)
            .Add(usage, costMicros);
        if (usage.Tags is { Count: > 0 } tags)
        {
            foreach (var (dimension, value) in tags)
            {
                CollectionsMarshal.GetValueRefOrAddDefault(Tags, new TagKey(day, dimension, value, usage.Model), out _).Add(usage, costMicros);
            }
        }
    }

    public byte[] Encode()
    {
        var buffer = new ArrayBufferWriter<byte>(256 + 128 * (Usage.Count + Tags.Count));
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("u");
            foreach (var (key, counters) in Usage)
            {
                json.WriteStartArray();
                json.WriteStringValue(HistoryDays.Format(key.Day));
                json.WriteStringValue(key.UserId);
                json.WriteStringValue(key.Model);
                json.WriteStringValue(key.Provider);
                json.WriteStringValue(key.ServiceTier);
                json.WriteNumberValue(key.ContextBand);
                counters.Write(json);
                json.WriteEndArray();
            }

            json.WriteEndArray();
            json.WriteStartArray("t");
            foreach (var (key, counters) in Tags)
            {
                json.WriteStartArray();
                json.WriteStringValue(HistoryDays.Format(key.Day));
                json.WriteStringValue(key.Dimension);
                json.WriteStringValue(key.Value);
                json.WriteStringValue(key.Model);
                counters.Write(json);
                json.WriteEndArray();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Adds an encoded delta's rows to this one.</summary>
    public void AddEncoded(ReadOnlySpan<byte> encoded)
    {
        var reader = new Utf8JsonReader(encoded);
        using var document = JsonDocument.ParseValue(ref reader);
        foreach (var row in document.RootElement.GetProperty("u").EnumerateArray())
        {
            var key = new UsageKey(HistoryDays.Parse(row[0].GetString()!), row[1].GetString()!, row[2].GetString()!, row[3].GetString()!, row[4].GetString()!, row[5].GetInt64());
            CollectionsMarshal.GetValueRefOrAddDefault(Usage, key, out _).Add(RollupCounters.Read(row, 6));
        }

        foreach (var row in document.RootElement.GetProperty("t").EnumerateArray())
        {
            var withModel = row.GetArrayLength() > 3 + RollupCounters.Count;
            var key = new TagKey(HistoryDays.Parse(row[0].GetString()!), row[1].GetString()!, row[2].GetString()!, withModel ? row[3].GetString()! : "");
            CollectionsMarshal.GetValueRefOrAddDefault(Tags, key, out _).Add(RollupCounters.Read(row, withModel ? 4 : 3));
        }
    }
}
