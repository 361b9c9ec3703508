using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlmCostTracker.Contracts;

/// <summary>The broker's form of <see cref="LlmUsage"/> inside <see cref="LlmUsageRecorded"/>: one JSON array an
/// event, <c>[eventId, userId, model, inputTokens, cachedInputTokens, outputTokens, occurredAt, traceParent]</c>,
/// followed, only for an event with any, by its billing details <c>cacheWriteInputTokens, reasoningOutputTokens,
/// serviceTier, provider</c> and, for an event with a budget hold or tags, its <c>holdId</c> (or null) and then its
/// <c>tags</c> as an object when it has any (null when it has none but the next values follow), then, only for an
/// event with any, <c>cacheWrite1hInputTokens, audioInputTokens, audioOutputTokens</c> (an event with any of these fills its trace parent's position, with
/// <c>0</c> for the one before: readers before that form refuse such a message, so a mixed deployment upgrades its
/// workers first), instead of an object with its property names: fewer bytes, and fewer JSON tokens for the worker to
/// parse, each of which costs it a row of a large JSON document (measured in BENCHMARKS.md). In a message's event list
/// (<see cref="LlmUsageListWireConverter"/>) an event with the same trace parent as the one before it leaves it out
/// (seven values): a batch request's events share one. It still reads the object form (messages from earlier
/// versions or other senders). Registered on MassTransit's JSON options only (<see cref="MessageJson"/>): the HTTP
/// API's JSON fields are unchanged.</summary>
public sealed class LlmUsageWireConverter : JsonConverter<LlmUsage>
{
    private ObjectFormOptions? _objectForm;

    public override LlmUsage Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        ReadEvent(ref reader, previousTraceParent: null, options);

    public override void Write(Utf8JsonWriter writer, LlmUsage value, JsonSerializerOptions options) =>
        WriteEvent(writer, value, sameTraceParentAsPrevious: false);

    /// <summary>Reads one event in either form; an array of seven values takes <paramref name="previousTraceParent"/>.</summary>
    internal LlmUsage ReadEvent(ref Utf8JsonReader reader, string? previousTraceParent, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.StartObject)
        {
            return JsonSerializer.Deserialize<LlmUsage>(ref reader, ObjectForm(options))
                ?? throw new JsonException("A usage event was null.");
        }

        Expect(reader.TokenType == JsonTokenType.StartArray, "an array or an object");
        // Null strings pass through as in the object form (only the API validates): a poison message must still
        // reach its fault, which carries it back in this form.
        var eventId = ReadString(ref reader)!;
        var userId = ReadShared(ref reader)!;
        var model = ReadShared(ref reader)!;
        var input = ReadNumber(ref reader);
        var cached = ReadNumber(ref reader);
        var output = ReadNumber(ref reader);
        var occurredAt = ReadDate(ref reader);
        var traceParent = previousTraceParent;
        long cacheWrite = 0, reasoning = 0, cacheWrite1h = 0, audioInput = 0, audioOutput = 0;
        string? tier = null, provider = null, holdId = null;
        IReadOnlyDictionary<string, string>? tags = null;
        Expect(reader.Read(), "a trace parent or the end of the array");
        if (reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType == JsonTokenType.Number)
            {
                Expect(reader.GetInt32() == 0, "0 for the trace parent before");
            }
            else
            {
                Expect(reader.TokenType is JsonTokenType.String or JsonTokenType.Null, "a string, null or 0");
                traceParent = reader.GetString();
            }

            Expect(reader.Read(), "the end of the array or the billing details");
            if (reader.TokenType != JsonTokenType.EndArray)
            {
                cacheWrite = CurrentNumber(ref reader);
                reasoning = ReadNumber(ref reader);
                tier = ReadShared(ref reader);
                provider = ReadShared(ref reader);
                Expect(reader.Read(), "the end of the array or a hold id");
                if (reader.TokenType != JsonTokenType.EndArray)
                {
                    Expect(reader.TokenType is JsonTokenType.String or JsonTokenType.Null, "a hold id or null");
                    holdId = reader.GetString();
                    Expect(reader.Read(), "the end of the array or the tags");
                    if (reader.TokenType != JsonTokenType.EndArray)
                    {
                        tags = reader.TokenType == JsonTokenType.Null ? null : ReadTags(ref reader);
                        Expect(reader.Read(), "the end of the array or the 1-hour cache writes");
                        if (reader.TokenType != JsonTokenType.EndArray)
                        {
                            cacheWrite1h = CurrentNumber(ref reader);
                            audioInput = ReadNumber(ref reader);
                            audioOutput = ReadNumber(ref reader);
                            Expect(reader.Read() && reader.TokenType == JsonTokenType.EndArray, "the end of the array after 17 values");
                        }
                    }
                }
            }
        }

        return new LlmUsage
        {
            CacheWriteInputTokens = cacheWrite,
            ReasoningOutputTokens = reasoning,
            CacheWrite1hInputTokens = cacheWrite1h,
            AudioInputTokens = audioInput,
            AudioOutputTokens = audioOutput,
            ServiceTier = tier,
            Provider = provider,
            HoldId = holdId,
            Tags = tags,
            EventId = eventId,
            UserId = userId,
            Model = model,
            InputTokens = input,
            CachedInputTokens = cached,
            OutputTokens = output,
            OccurredAt = occurredAt,
            TraceParent = traceParent,
        };
    }

    internal static void WriteEvent(Utf8JsonWriter writer, LlmUsage value, bool sameTraceParentAsPrevious)
    {
        writer.WriteStartArray();
        writer.WriteStringValue(value.EventId);
        writer.WriteStringValue(value.UserId);
        writer.WriteStringValue(value.Model);
        writer.WriteNumberValue(value.InputTokens);
        writer.WriteNumberValue(value.CachedInputTokens);
        writer.WriteNumberValue(value.OutputTokens);
        writer.WriteStringValue(value.OccurredAt);
        var extras = value.CacheWrite1hInputTokens != 0 || value.AudioInputTokens != 0 || value.AudioOutputTokens != 0;
        var billing = value.CacheWriteInputTokens != 0 || value.ReasoningOutputTokens != 0 || value.ServiceTier is not null || value.Provider is not null
            || value.HoldId is not null || value.Tags is { Count: > 0 } || extras;
        if (!sameTraceParentAsPrevious)
        {
            WriteNullable(writer, value.TraceParent);
        }
        else if (billing)
        {
            // The position must be filled for the values after it: 0 stands for the trace parent before (~55
            // characters a tagged event in a batch would repeat).
            writer.WriteNumberValue(0);
        }

        if (billing)
        {
            writer.WriteNumberValue(value.CacheWriteInputTokens);
            writer.WriteNumberValue(value.ReasoningOutputTokens);
            WriteNullable(writer, value.ServiceTier);
            WriteNullable(writer, value.Provider);
            if (extras)
            {
                WriteNullable(writer, value.HoldId);
                WriteTags(writer, value.Tags);
                writer.WriteNumberValue(value.CacheWrite1hInputTokens);
                writer.WriteNumberValue(value.AudioInputTokens);
                writer.WriteNumberValue(value.AudioOutputTokens);
            }
            else if (value.Tags is { Count: > 0 })
            {
                WriteNullable(writer, value.HoldId);
                WriteTags(writer, value.Tags);
            }
            else if (value.HoldId is not null)
            {
                writer.WriteStringValue(value.HoldId);
            }
        }

        writer.WriteEndArray();
    }

    /// <summary>The tags object, or null for none (the position is kept when 1-hour cache writes or audio follow).</summary>
    private static void WriteTags(Utf8JsonWriter writer, IReadOnlyDictionary<string, string>? tags)
    {
        if (tags is not { Count: > 0 })
        {
            writer.WriteNullValue();
        }
        else if (TagSetPool.JsonOf(tags) is { } json)
        {
            writer.WriteRawValue(json, skipInputValidation: true);
        }
        else
        {
            writer.WriteStartObject();
            foreach (var (dimension, tag) in tags)
            {
                writer.WriteString(dimension, tag);
            }

            writer.WriteEndObject();
        }
    }

    /// <summary>The caller's options without this converter, so the object form reads exactly as it did before.</summary>
    private JsonSerializerOptions ObjectForm(JsonSerializerOptions options)
    {
        var cached = _objectForm;
        if (cached is not null && ReferenceEquals(cached.Source, options))
        {
            return cached.Options;
        }

        var copy = new JsonSerializerOptions(options);
        for (var i = copy.Converters.Count - 1; i >= 0; i--)
        {
            if (copy.Converters[i] is LlmUsageWireConverter)
            {
                copy.Converters.RemoveAt(i);
            }
        }

        _objectForm = new ObjectFormOptions(options, copy);
        return copy;
    }

    private sealed record ObjectFormOptions(JsonSerializerOptions Source, JsonSerializerOptions Options);

    private static string? ReadString(ref Utf8JsonReader reader)
    {
        Expect(reader.Read() && reader.TokenType is JsonTokenType.String or JsonTokenType.Null, "a string or null");
        return reader.GetString();
    }

    /// <summary>A value events repeat (a user id, a model, a provider, a tier): one shared instance (<see cref="SharedStrings"/>).</summary>
    private static string? ReadShared(ref Utf8JsonReader reader)
    {
        Expect(reader.Read() && reader.TokenType is JsonTokenType.String or JsonTokenType.Null, "a string or null");
        return SharedStrings.Read(ref reader);
    }

    private static IReadOnlyDictionary<string, string> ReadTags(ref Utf8JsonReader reader)
    {
        Expect(reader.TokenType == JsonTokenType.StartObject, "the tags object");
        var start = reader;
        Span<char> key = stackalloc char[TagSetPool.MaxKeyLength];
        if (TagSetPool.TryReadKey(ref reader, key, out var length))
        {
            return TagSetPool.Get(key[..length]);
        }

        reader = start;
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var dimension = reader.GetString()!;
            Expect(reader.Read() && reader.TokenType == JsonTokenType.String, "a tag value");
            tags[dimension] = reader.GetString()!;
        }

        Expect(reader.TokenType == JsonTokenType.EndObject, "the end of the tags");
        return tags;
    }

    private static long ReadNumber(ref Utf8JsonReader reader)
    {
        Expect(reader.Read(), "a number");
        return CurrentNumber(ref reader);
    }

    private static long CurrentNumber(ref Utf8JsonReader reader)
    {
        Expect(reader.TokenType == JsonTokenType.Number, "a number");
        return reader.GetInt64();
    }

    private static void WriteNullable(Utf8JsonWriter writer, string? value)
    {
        if (value is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            writer.WriteStringValue(value);
        }
    }

    private static DateTimeOffset ReadDate(ref Utf8JsonReader reader)
    {
        Expect(reader.Read() && reader.TokenType == JsonTokenType.String, "a date");
        return reader.GetDateTimeOffset();
    }

    private static void Expect(bool condition, string what)
    {
        if (!condition)
        {
            throw new JsonException($"A usage event in a message: expected {what}.");
        }
    }
}
