using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;
using LlmCostTracker.Contracts;

namespace LlmCostTracker.History.Rollups;

/// <summary>One ledger call's rollup delta as the worker builds it: the call's events summed into rows, and for each
/// event, in the call's order, the rows it was added to and the three counters the ledger script does not carry.
/// The script counts the call's new events and skips the ones already counted; it adds this delta to the bucket's
/// stream with those duplicates' positions and counters beside it, and the writer takes them out
/// (<see cref="RollupDelta.AddEncoded"/>). So a call that mixes new events and duplicates is made once, not refused
/// and made again without them.</summary>
public sealed class RollupDeltaBuilder
{
    private readonly List<UsageKey> _usageKeys = [];
    private readonly List<RollupCounters> _usage = [];
    // A call holds each user's events together, and a usage row is one user's: the rows of the current user are
    // found by a scan from here (a user has a few), with no hashing of six fields. A user met again later only
    // gets a second row of the same key, which the reader adds up.
    private int _userRowsFrom;
    private string? _user;
    private readonly Dictionary<TagKey, int> _tagRows = [];
    private readonly List<TagKey> _tagKeys = [];
    private readonly List<RollupCounters> _tags = [];
    private readonly List<EventRows> _events = [];
    private readonly List<int> _eventTagRows = [];

    /// <summary>Adds the call's next event (in the order the call holds them): its row, and a tag row per tag.</summary>
    public void Add(LlmUsage usage, long costMicros, string provider, string serviceTier, long contextBand)
    {
        var day = DateOnly.FromDateTime(usage.OccurredAt.UtcDateTime);
        var row = UsageRowOf(new UsageKey(day, usage.UserId, usage.Model, provider, serviceTier, contextBand));
        CollectionsMarshal.AsSpan(_usage)[row].Add(usage, costMicros);
        var tagsFrom = _eventTagRows.Count;
        if (usage.Tags is { Count: > 0 } tags)
        {
            foreach (var (dimension, value) in tags)
            {
                var tagRow = RowOf(_tagRows, _tagKeys, _tags, new TagKey(day, dimension, value, usage.Model));
                CollectionsMarshal.AsSpan(_tags)[tagRow].Add(usage, costMicros);
                _eventTagRows.Add(tagRow);
            }
        }

        _events.Add(new EventRows(row, tagsFrom, _eventTagRows.Count - tagsFrom, usage.CacheWrite1hInputTokens, usage.AudioInputTokens, usage.AudioOutputTokens));
    }

    /// <summary>The delta's text: <c>{"u":[...],"t":[...],"e":[...]}</c>. The rows are as <see cref="RollupDelta"/>
    /// reads them; <c>e</c> has one item an event: its usage row's index, or, when it carries tags or any of the
    /// three counters the script does not, <c>[usageRow, cacheWrite1h, audioInput, audioOutput, tagRow...]</c>.</summary>
    public byte[] Encode()
    {
        var buffer = new ArrayBufferWriter<byte>(256 + 128 * (_usage.Count + _tags.Count) + 8 * _events.Count);
        // A call's events are nearly always of one day: its text is made once.
        var day = default(DateOnly);
        var dayText = "";
        string DayText(DateOnly of) => of == day && dayText.Length > 0 ? dayText : dayText = HistoryDays.Format(day = of);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray(RollupDelta.UsageRows);
            for (var r = 0; r < _usage.Count; r++)
            {
                var key = _usageKeys[r];
                json.WriteStartArray();
                json.WriteStringValue(DayText(key.Day));
                json.WriteStringValue(key.UserId);
                json.WriteStringValue(key.Model);
                json.WriteStringValue(key.Provider);
                json.WriteStringValue(key.ServiceTier);
                json.WriteNumberValue(key.ContextBand);
                _usage[r].Write(json);
                json.WriteEndArray();
            }

            json.WriteEndArray();
            json.WriteStartArray(RollupDelta.TagRows);
            for (var r = 0; r < _tags.Count; r++)
            {
                var key = _tagKeys[r];
                json.WriteStartArray();
                json.WriteStringValue(DayText(key.Day));
                json.WriteStringValue(key.Dimension);
                json.WriteStringValue(key.Value);
                json.WriteStringValue(key.Model);
                _tags[r].Write(json);
                json.WriteEndArray();
            }

            json.WriteEndArray();
            json.WriteStartArray(RollupDelta.EventRows);
            foreach (var e in _events)
            {
                if (e.TagCount == 0 && e.CacheWrite1h == 0 && e.AudioInput == 0 && e.AudioOutput == 0)
                {
                    json.WriteNumberValue(e.UsageRow);
                    continue;
                }

                json.WriteStartArray();
                json.WriteNumberValue(e.UsageRow);
                json.WriteNumberValue(e.CacheWrite1h);
                json.WriteNumberValue(e.AudioInput);
                json.WriteNumberValue(e.AudioOutput);
                for (var t = e.TagsFrom; t < e.TagsFrom + e.TagCount; t++)
                {
                    json.WriteNumberValue(_eventTagRows[t]);
                }

                json.WriteEndArray();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private int UsageRowOf(in UsageKey key)
    {
        if (!string.Equals(_user, key.UserId, StringComparison.Ordinal))
        {
            _user = key.UserId;
            _userRowsFrom = _usageKeys.Count;
        }

        for (var r = _userRowsFrom; r < _usageKeys.Count; r++)
        {
            var row = _usageKeys[r];
            if (row.Day == key.Day && row.ContextBand == key.ContextBand && string.Equals(row.Model, key.Model, StringComparison.Ordinal)
                && string.Equals(row.Provider, key.Provider, StringComparison.Ordinal) && string.Equals(row.ServiceTier, key.ServiceTier, StringComparison.Ordinal))
            {
                return r;
            }
        }

        _usageKeys.Add(key);
        _usage.Add(default);
        return _usageKeys.Count - 1;
    }

    private static int RowOf<TKey>(Dictionary<TKey, int> rows, List<TKey> keys, List<RollupCounters> counters, TKey key) where TKey : notnull
    {
        ref var row = ref CollectionsMarshal.GetValueRefOrAddDefault(rows, key, out var exists);
        if (!exists)
        {
            row = keys.Count;
            keys.Add(key);
            counters.Add(default);
        }

        return row;
    }

    private readonly record struct EventRows(int UsageRow, int TagsFrom, int TagCount, long CacheWrite1h, long AudioInput, long AudioOutput);
}
