using System.Collections.Concurrent;
using System.Text.Json;

namespace LlmCostTracker.Contracts;

/// <summary>The user ids, models, providers, service tiers and tag texts read from messages and requests, one
/// instance of each. A message's events repeat a few of them, and the worker keeps every event of the messages it
/// consumes (`Aggregation:ConcurrentMessages` of them) alive until their ledger write ends: each repeat was one more
/// string for every garbage collection to find and copy (BENCHMARKS.md). Looked up by its characters without
/// allocating; bounded, and emptied when full, so a sender of ever new ids costs only misses.</summary>
internal static class SharedStrings
{
    /// <summary>Distinct strings kept; past it the pool empties (strings in use stay valid).</summary>
    public const int MaxStrings = 65_536;

    /// <summary>The longest string pooled, in UTF-8 bytes (a user id is at most 128 characters, a model 200).</summary>
    public const int MaxBytes = 256;

    private static readonly ConcurrentDictionary<string, string> Strings = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> BySpan =
        Strings.GetAlternateLookup<ReadOnlySpan<char>>();

    private static int _count;

    /// <summary>The reader's current string (or null), from the pool when it is short enough.</summary>
    public static string? Read(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.String || reader.HasValueSequence || reader.ValueSpan.Length > MaxBytes)
        {
            return reader.GetString();
        }

        // A string's UTF-16 length is never more than its UTF-8 (escapes included) byte count.
        Span<char> text = stackalloc char[MaxBytes];
        return Intern(text[..reader.CopyString(text)]);
    }

    /// <summary>The pool's instance of <paramref name="text"/>, made and kept on its first sight.</summary>
    public static string Intern(ReadOnlySpan<char> text)
    {
        if (BySpan.TryGetValue(text, out var known))
        {
            return known;
        }

        var made = new string(text);
        // Counted apart: ConcurrentDictionary.Count takes every lock.
        if (Interlocked.Increment(ref _count) > MaxStrings)
        {
            Strings.Clear();
            Interlocked.Exchange(ref _count, 1);
        }

        return Strings.GetOrAdd(made, made);
    }
}
