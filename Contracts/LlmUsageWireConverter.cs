using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlmCostTracker.Contracts;

/// <summary>The broker's form of <see cref="LlmUsage"/> inside <see cref="LlmUsageRecorded"/>: one JSON array an
/// event, <c>[eventId, userId, model, inputTokens, cachedInputTokens, outputTokens, occurredAt, traceParent]</c>,
/// instead of an object with its property names: ~40% fewer bytes and about half the JSON tokens for the worker to
/// parse (each token costs it 12 bytes of a large JSON document). It still reads the object form (messages from
/// earlier versions or other senders). Registered on MassTransit's JSON options only: the HTTP API's JSON fields
/// are unchanged.</summary>
public sealed class LlmUsageWireConverter : JsonConverter<LlmUsage>
{
    private ObjectFormOptions? _objectForm;

    public override LlmUsage Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.StartObject)
        {
            return JsonSerializer.Deserialize<LlmUsage>(ref reader, ObjectForm(options))
                ?? throw new JsonException("A usage event was null.");
        }

        Expect(reader.TokenType == JsonTokenType.StartArray, "an array or an object");
        var usage = new LlmUsage
        {
            // Null strings pass through as in the object form (only the API validates): a poison message must still
            // reach its fault, which carries it back in this form.
            EventId = ReadString(ref reader)!,
            UserId = ReadString(ref reader)!,
            Model = ReadString(ref reader)!,
            InputTokens = ReadNumber(ref reader),
            CachedInputTokens = ReadNumber(ref reader),
            OutputTokens = ReadNumber(ref reader),
            OccurredAt = ReadDate(ref reader),
            TraceParent = ReadString(ref reader),
        };
        Expect(reader.Read() && reader.TokenType == JsonTokenType.EndArray, "the end of the array after 8 values");
        return usage;
    }

    public override void Write(Utf8JsonWriter writer, LlmUsage value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        writer.WriteStringValue(value.EventId);
        writer.WriteStringValue(value.UserId);
        writer.WriteStringValue(value.Model);
        writer.WriteNumberValue(value.InputTokens);
        writer.WriteNumberValue(value.CachedInputTokens);
        writer.WriteNumberValue(value.OutputTokens);
        writer.WriteStringValue(value.OccurredAt);
        if (value.TraceParent is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            writer.WriteStringValue(value.TraceParent);
        }

        writer.WriteEndArray();
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

    private static long ReadNumber(ref Utf8JsonReader reader)
    {
        Expect(reader.Read() && reader.TokenType == JsonTokenType.Number, "a number");
        return reader.GetInt64();
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
