using System.Buffers;
using System.Runtime.InteropServices;
using LlmCostTracker.Contracts;

namespace LlmCostTracker.History.Rollups;

/// <summary>One ledger call's rollup delta as the worker builds it: the call's events summed into rows, and for each
/// event, in the call's order, the rows it was added to and the three counters the ledger script does not carry.
/// The script counts the call's new events and skips the ones already counted; it adds this delta to the bucket's
/// stream with those duplicates' positions and counters beside it, and the writer takes them out
/// (<see cref="RollupDelta.AddEncoded"/>). So a call that mixes new events and duplicates is made once, not refused
/// and made again without them.</summary>
/// <param name="events">The events the call holds, when known: the lists are sized for them at once (a usage row
/// an event at most), not grown by doubling.</param>
public sealed class RollupDeltaBuilder(int events = 0)
{
    private readonly List<UsageKey> _usageKeys = new(events);
    private readonly List<RollupCounters> _usage = new(events);
    // A call holds each user's events together, and a usage row is one user's: the rows of the current user are
    // found by a scan from here (a user has a few), with no hashing of six fields. A user met again later only
    // gets a second row of the same key, which the reader adds up.
    private int _userRowsFrom;
    private string? _user;
    private readonly Dictionary<TagKey, int> _tagRows = [];
    private readonly List<TagKey> _tagKeys = [];
    private readonly List<RollupCounters> _tags = [];
    private readonly List<EventRows> _events = new(events);
    private readonly List<int> _eventTagRows = [];

    // Each thread's buffers for the entry being written (its tables, its rows), kept between calls (a write of a
    // thousand events is about 30 KB) unless one call grew them past this.
    private const int MaxKeptOutputBytes = 1 << 20;
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_output;
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_rows;

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

    /// <summary>The delta in its binary form (<see cref="RollupWire"/>): the texts its rows name, once each, then the
    /// rows as <see cref="RollupDelta"/> reads them, then each event's usage row, with its tag rows and the three
    /// counters the script does not carry when it has any.</summary>
    public byte[] Encode()
    {
        // The tables come first, but a text's index is known only once a row names it: the rows are written to a
        // second buffer as the tables fill, then copied after them.
        var output = t_output ??= new ArrayBufferWriter<byte>(16 * 1024);
        var rows = t_rows ??= new ArrayBufferWriter<byte>(16 * 1024);
        output.ResetWrittenCount();
        rows.ResetWrittenCount();
        var texts = new Dictionary<string, int>(StringComparer.Ordinal);
        var days = new List<DateOnly>(1);
        void Text(string text) => RollupWire.Write(rows, (ulong)TextRef(texts, text));
        void Day(DateOnly day) => RollupWire.Write(rows, (ulong)DayRef(days, day));

        RollupWire.Write(rows, (ulong)_usage.Count);
        for (var r = 0; r < _usage.Count; r++)
        {
            var key = _usageKeys[r];
            Day(key.Day);
            Text(key.UserId);
            Text(key.Model);
            Text(key.Provider);
            Text(key.ServiceTier);
            RollupWire.Write(rows, key.ContextBand);
            RollupWire.Write(rows, _usage[r]);
        }

        RollupWire.Write(rows, (ulong)_tags.Count);
        for (var r = 0; r < _tags.Count; r++)
        {
            var key = _tagKeys[r];
            Day(key.Day);
            Text(key.Dimension);
            Text(key.Value);
            Text(key.Model);
            RollupWire.Write(rows, _tags[r]);
        }

        RollupWire.Write(rows, (ulong)_events.Count);
        foreach (var e in _events)
        {
            var extra = e.TagCount > 0 || e.CacheWrite1h != 0 || e.AudioInput != 0 || e.AudioOutput != 0;
            RollupWire.Write(rows, ((ulong)e.UsageRow << 1) | (extra ? 1UL : 0));
            if (!extra)
            {
                continue;
            }

            RollupWire.Write(rows, e.CacheWrite1h);
            RollupWire.Write(rows, e.AudioInput);
            RollupWire.Write(rows, e.AudioOutput);
            RollupWire.Write(rows, (ulong)e.TagCount);
            for (var t = e.TagsFrom; t < e.TagsFrom + e.TagCount; t++)
            {
                RollupWire.Write(rows, (ulong)_eventTagRows[t]);
            }
        }

        output.GetSpan(1)[0] = RollupWire.Version;
        output.Advance(1);
        RollupWire.Write(output, (ulong)texts.Count);
        // A dictionary enumerates in insertion order while nothing is removed: the order of the indexes.
        foreach (var text in texts.Keys)
        {
            RollupWire.Write(output, text);
        }

        RollupWire.Write(output, (ulong)days.Count);
        foreach (var day in days)
        {
            RollupWire.Write(output, (ulong)day.DayNumber);
        }

        var encoded = new byte[output.WrittenCount + rows.WrittenCount];
        output.WrittenSpan.CopyTo(encoded);
        rows.WrittenSpan.CopyTo(encoded.AsSpan(output.WrittenCount));
        if (output.Capacity > MaxKeptOutputBytes || rows.Capacity > MaxKeptOutputBytes)
        {
            (t_output, t_rows) = (null, null);
        }

        return encoded;
    }

    private static int TextRef(Dictionary<string, int> texts, string text)
    {
        ref var index = ref CollectionsMarshal.GetValueRefOrAddDefault(texts, text, out var exists);
        if (!exists)
        {
            index = texts.Count - 1;
        }

        return index;
    }

    private static int DayRef(List<DateOnly> days, DateOnly day)
    {
        // A call's events are nearly always of one day, at most a few.
        var at = days.IndexOf(day);
        if (at < 0)
        {
            days.Add(day);
            at = days.Count - 1;
        }

        return at;
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
