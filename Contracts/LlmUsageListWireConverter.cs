using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlmCostTracker.Contracts;

/// <summary>A message's event list in the broker's form (<see cref="LlmUsageWireConverter"/>), each event's trace
/// parent written only when it differs from the one before.</summary>
public sealed class LlmUsageListWireConverter(LlmUsageWireConverter events) : JsonConverter<IReadOnlyList<LlmUsage>>
{
    public override IReadOnlyList<LlmUsage> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException("A message's usage events: expected an array.");
        }

        var list = new List<LlmUsage>();
        string? previous = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var usage = events.ReadEvent(ref reader, previous, options);
            list.Add(usage);
            previous = usage.TraceParent;
        }

        return list;
    }

    public override void Write(Utf8JsonWriter writer, IReadOnlyList<LlmUsage> value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        for (var i = 0; i < value.Count; i++)
        {
            LlmUsageWireConverter.WriteEvent(writer, value[i], i > 0 && value[i].TraceParent == value[i - 1].TraceParent);
        }

        writer.WriteEndArray();
    }
}
