using System.Collections.Concurrent;
using System.Text.Json;

namespace LlmCostTracker.Contracts;

/// <summary>The tag sets read from messages, one shared read-only dictionary per distinct set: a message's events
/// repeat a few sets (a team, a feature, an environment), and a dictionary with six strings on each event in flight
/// was most of what the worker kept alive with tags (BENCHMARKS.md, "Cost by tag"). A set is looked up by its
/// characters without allocating; the pool is bounded and starts again when full, so odd senders cost only misses.
/// Callers never change a set: the event's <see cref="LlmUsage.Tags"/> is read-only, mapping one makes a copy, and
/// the API's request reader (<see cref="PooledTagsJsonConverter"/>) hands its sets only to the validator.</summary>
internal static class TagSetPool
{
    /// <summary>Distinct sets kept. Past it the pool empties: sets in use stay valid, later events get new ones.</summary>
    public const int MaxSets = 16_384;

    /// <summary>The longest set pooled, in characters, each name and value prefixed by its length: 5 tags of a
    /// 64-character value and a dimension name fit with room; a longer one is read without the pool.</summary>
    public const int MaxKeyLength = 1_024;

    private static readonly ConcurrentDictionary<string, IReadOnlyDictionary<string, string>> Sets = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, IReadOnlyDictionary<string, string>>.AlternateLookup<ReadOnlySpan<char>> BySpan =
        Sets.GetAlternateLookup<ReadOnlySpan<char>>();
    private static int _count;

    /// <summary>Reads a tags object (the reader on its start) into <paramref name="key"/>, each name and value as its
    /// length (one char) then its characters; false when it does not fit or is not a flat object of strings (the
    /// caller then reads it again without the pool, which reports what is wrong).</summary>
    public static bool TryReadKey(ref Utf8JsonReader reader, scoped Span<char> key, out int length)
    {
        length = 0;
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                return true;
            }

            if (reader.TokenType != JsonTokenType.PropertyName || !TryAppend(ref reader, key, ref length)
                || !reader.Read() || reader.TokenType != JsonTokenType.String || !TryAppend(ref reader, key, ref length))
            {
                return false;
            }
        }

        return false;
    }

    /// <summary>The shared set for <paramref name="key"/> (as <see cref="TryReadKey"/> wrote it).</summary>
    public static IReadOnlyDictionary<string, string> Get(ReadOnlySpan<char> key)
    {
        if (BySpan.TryGetValue(key, out var set))
        {
            return set;
        }

        // A name given twice keeps its last value, as a dictionary read from JSON does. Names and values are shared
        // strings (SharedStrings), so equal tags of two sets are nearly always one instance: a ledger call numbers its
        // tags by reference (TagDelta), and two instances only number one tag twice.
        var read = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var at = 0; at < key.Length;)
        {
            var dimension = SharedStrings.Intern(key.Slice(at + 1, key[at]));
            at += 1 + key[at];
            read[dimension] = SharedStrings.Intern(key.Slice(at + 1, key[at]));
            at += 1 + key[at];
        }

        // In dimension order, as TagValidator.Check orders a set it passes: a pooled set it passes then goes on as it
        // is, without a copy.
        var tags = new PooledSet();
        foreach (var dimension in read.Keys.Order(StringComparer.Ordinal))
        {
            tags[dimension] = read[dimension];
        }

        if (Interlocked.Increment(ref _count) > MaxSets)
        {
            Sets.Clear();
            Interlocked.Exchange(ref _count, 1);
        }

        return Sets.GetOrAdd(new string(key), tags);
    }

    /// <summary>Whether <paramref name="tags"/> is a set of this pool, which no one changes.</summary>
    public static bool IsPooled(object tags) => tags is PooledSet;

    /// <summary>Whether <paramref name="tags"/> is a pooled set that passed <see cref="TagValidator.Check"/> with
    /// <paramref name="dimensions"/>: a set does not change, so its verdict holds for every event that shares it.</summary>
    public static bool PassedWith(object tags, object? dimensions) =>
        tags is PooledSet { PassedWith: { } passed } && ReferenceEquals(passed, dimensions ?? AnyDimension);

    public static void MarkPassed(object tags, object? dimensions)
    {
        if (tags is PooledSet set)
        {
            set.PassedWith = dimensions ?? AnyDimension;
        }
    }

    /// <summary>A pooled set's JSON object (UTF-8), written once for every message that carries it; null for a set
    /// of no pool.</summary>
    public static byte[]? JsonOf(object tags)
    {
        if (tags is not PooledSet set)
        {
            return null;
        }

        if (set.Json is { } json)
        {
            return json;
        }

        var buffer = new System.Buffers.ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (dimension, value) in set)
            {
                writer.WriteString(dimension, value);
            }

            writer.WriteEndObject();
        }

        return set.Json = buffer.WrittenSpan.ToArray();
    }

    private static readonly object AnyDimension = new();

    private sealed class PooledSet() : Dictionary<string, string>(StringComparer.Ordinal)
    {
        // Both set once, then only read: a race writes the same value twice.
        public object? PassedWith { get; set; }

        public byte[]? Json { get; set; }
    }

    private static bool TryAppend(ref Utf8JsonReader reader, scoped Span<char> key, ref int length)
    {
        // A string's UTF-8 bytes (escapes included) are never fewer than its UTF-16 chars, so this bound is safe.
        var bytes = reader.HasValueSequence ? reader.ValueSequence.Length : reader.ValueSpan.Length;
        if (length + 1 + bytes > key.Length || bytes > char.MaxValue)
        {
            return false;
        }

        var written = reader.CopyString(key[(length + 1)..]);
        key[length] = (char)written;
        length += 1 + written;
        return true;
    }
}
