using System.Runtime.InteropServices;
using System.Text.Json;
using LlmCostTracker.Ledger;

namespace LlmCostTracker.History.Rollups;

/// <summary>The JSON form a version before the binary one (<see cref="RollupWire"/>) wrote, read for the entries
/// still waiting in a stream when the worker is upgraded:
/// <c>{"u":[[day,user,model,provider,tier,band,counters...]],"t":[[day,dimension,value,model,counters...]],"e":[...]}</c>,
/// counters in <see cref="RollupCounters"/> order, <c>e</c> the rows of each of the call's events: its usage row's
/// index, or <c>[usageRow, cacheWrite1h, audioInput, audioOutput, tagRow...]</c>. (A tag row written before tags kept
/// the model, <c>[day,dimension,value,counters...]</c>, is read with the model <c>""</c>; an entry written before
/// <c>e</c> existed never has duplicates beside it.)</summary>
public sealed partial class RollupDelta
{
    private const string UsageRows = "u";
    private const string TagRows = "t";
    private const string EventRows = "e";

    /// <summary>An entry a version before <see cref="RollupWire"/> wrote, as JSON.</summary>
    private void AddJson(ReadOnlySpan<byte> encoded, ReadOnlySpan<byte> duplicates)
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
        using var document = ParseDuplicates(duplicates);
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
}
