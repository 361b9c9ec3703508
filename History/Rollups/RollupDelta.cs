using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using LlmCostTracker.Ledger;

namespace LlmCostTracker.History.Rollups;

/// <summary>The daily rollup sums of some usage, as the writer adds up a bucket's stream entries before one
/// transaction. An entry (written by <see cref="RollupDeltaBuilder"/>, stored by the ledger script without reading
/// it) is binary (<see cref="RollupWire"/>); one a version before it wrote is JSON (<c>RollupDelta.Json.cs</c>).</summary>
public sealed partial class RollupDelta
{
    public Dictionary<UsageKey, RollupCounters> Usage { get; } = [];

    public Dictionary<TagKey, RollupCounters> Tags { get; } = [];

    public bool IsEmpty => Usage.Count == 0 && Tags.Count == 0;

    // The texts of the entries added so far, each kept once: a round adds hundreds of entries naming the same users
    // and models, and a row's key then holds the same string instances.
    private readonly Dictionary<string, string> _texts = new(StringComparer.Ordinal);
    private static readonly Encoding StrictUtf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Adds an encoded delta's rows to this one. <paramref name="duplicates"/>: the events of its ledger call
    /// that were already counted (<see cref="LedgerKeys.RollupDuplicatesField"/>), <c>[[position, counters...]]</c>
    /// with each event's 1-based position in the call and its counters in <see cref="LedgerKeys.Counters"/> order;
    /// each is taken out again from the rows the delta lists for it. The delta is binary (<see cref="RollupWire"/>),
    /// or JSON when a version before it wrote the entry.</summary>
    public void AddEncoded(ReadOnlySpan<byte> encoded, ReadOnlySpan<byte> duplicates = default)
    {
        if (encoded.IsEmpty)
        {
            throw new InvalidDataException("A rollup delta is empty.");
        }

        switch (encoded[0])
        {
            case RollupWire.Version:
                AddBinary(encoded, duplicates);
                break;
            case (byte)'{':
                AddJson(encoded, duplicates);
                break;
            default:
                throw new InvalidDataException($"A rollup delta starts with 0x{encoded[0]:x2}, which is no form this version reads.");
        }
    }

    private void AddBinary(ReadOnlySpan<byte> encoded, ReadOnlySpan<byte> duplicates)
    {
        var reader = new RollupWire.Reader(encoded);
        reader.ReadByte();
        var texts = new string[reader.ReadCount("text count")];
        for (var i = 0; i < texts.Length; i++)
        {
            texts[i] = Intern(reader.ReadBytes());
        }

        var days = new DateOnly[reader.ReadCount("day count")];
        for (var i = 0; i < days.Length; i++)
        {
            days[i] = DateOnly.FromDayNumber(checked((int)reader.ReadUInt64()));
        }

        // Only an entry with duplicates needs its rows by index.
        var usageRows = reader.ReadCount("usage row count");
        var usageKeys = duplicates.IsEmpty ? null : new UsageKey[usageRows];
        for (var r = 0; r < usageRows; r++)
        {
            var key = new UsageKey(
                days[reader.ReadIndex(days.Length, "day")], texts[reader.ReadIndex(texts.Length, "text")], texts[reader.ReadIndex(texts.Length, "text")],
                texts[reader.ReadIndex(texts.Length, "text")], texts[reader.ReadIndex(texts.Length, "text")], reader.ReadInt64());
            CollectionsMarshal.GetValueRefOrAddDefault(Usage, key, out _).Add(reader.ReadCounters());
            if (usageKeys is not null)
            {
                usageKeys[r] = key;
            }
        }

        var tagRows = reader.ReadCount("tag row count");
        var tagKeys = duplicates.IsEmpty ? null : new TagKey[tagRows];
        for (var r = 0; r < tagRows; r++)
        {
            var key = new TagKey(
                days[reader.ReadIndex(days.Length, "day")], texts[reader.ReadIndex(texts.Length, "text")], texts[reader.ReadIndex(texts.Length, "text")],
                texts[reader.ReadIndex(texts.Length, "text")]);
            CollectionsMarshal.GetValueRefOrAddDefault(Tags, key, out _).Add(reader.ReadCounters());
            if (tagKeys is not null)
            {
                tagKeys[r] = key;
            }
        }

        if (usageKeys is not null && tagKeys is not null)
        {
            TakeOut(ref reader, duplicates, usageKeys, tagKeys);
        }
    }

    /// <summary>Reads a binary entry's events (the last part of it) and takes its duplicates out of their rows.</summary>
    private void TakeOut(ref RollupWire.Reader reader, ReadOnlySpan<byte> duplicates, UsageKey[] usageKeys, TagKey[] tagKeys)
    {
        // Each event's rows, by its position in the call, for the duplicates to name.
        var events = new (int UsageRow, long CacheWrite1h, long AudioInput, long AudioOutput, int TagsFrom, int TagCount)[reader.ReadCount("event count")];
        var eventTagRows = new List<int>();
        for (var e = 0; e < events.Length; e++)
        {
            var rowAndExtra = reader.ReadUInt64();
            var row = rowAndExtra >> 1 < (ulong)usageKeys.Length ? (int)(rowAndExtra >> 1)
                : throw new InvalidDataException($"A rollup delta's event {e + 1} names usage row {rowAndExtra >> 1} of {usageKeys.Length}.");
            if ((rowAndExtra & 1) == 0)
            {
                events[e] = (row, 0, 0, 0, 0, 0);
                continue;
            }

            var (cacheWrite1h, audioInput, audioOutput) = (reader.ReadInt64(), reader.ReadInt64(), reader.ReadInt64());
            var tagCount = reader.ReadCount("event's tag count");
            events[e] = (row, cacheWrite1h, audioInput, audioOutput, eventTagRows.Count, tagCount);
            for (var t = 0; t < tagCount; t++)
            {
                eventTagRows.Add(reader.ReadIndex(tagKeys.Length, "tag row"));
            }
        }

        using var document = ParseDuplicates(duplicates);
        foreach (var duplicate in document.RootElement.EnumerateArray())
        {
            var position = duplicate[0].GetInt32();
            if (position < 1 || position > events.Length)
            {
                throw new InvalidDataException($"A rollup delta's duplicate names event {position} of {events.Length}.");
            }

            var e = events[position - 1];
            var counters = RollupCounters.FromLedger(duplicate, 1, e.CacheWrite1h, e.AudioInput, e.AudioOutput);
            Subtract(Usage, usageKeys[e.UsageRow], counters);
            for (var t = e.TagsFrom; t < e.TagsFrom + e.TagCount; t++)
            {
                Subtract(Tags, tagKeys[eventTagRows[t]], counters);
            }
        }
    }

    /// <summary>The duplicates beside an entry, as the ledger script writes them (either form of the entry).</summary>
    private static JsonDocument ParseDuplicates(ReadOnlySpan<byte> duplicates)
    {
        var reader = new Utf8JsonReader(duplicates);
        return JsonDocument.ParseValue(ref reader);
    }

    private string Intern(ReadOnlySpan<byte> utf8)
    {
        const int StackChars = 256;
        var chars = utf8.Length <= StackChars ? stackalloc char[StackChars] : new char[utf8.Length];
        chars = chars[..StrictUtf8.GetChars(utf8, chars)];
        var lookup = _texts.GetAlternateLookup<ReadOnlySpan<char>>();
        if (!lookup.TryGetValue(chars, out var text))
        {
            text = new string(chars);
            _texts.Add(text, text);
        }

        return text;
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
