using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlmCostTracker.Contracts;

/// <summary>Reads a request's <c>tags</c> object into a set of <see cref="TagSetPool"/>, shared by every event with
/// the same tags, instead of a new dictionary with six strings on each event: a batch of tagged events allocated
/// that, and then <see cref="TagValidator.Check"/>'s ordered copy, for every event (BENCHMARKS.md, "Cost by tag").
/// The set is shared: whoever reads the request must not change it (the API never does). Anything the pool does not
/// take (a null or non-string value, a set too long) is read into a dictionary of its own, so that the validator
/// reports it as before.</summary>
public sealed class PooledTagsJsonConverter : JsonConverter<Dictionary<string, string?>>
{
    public override Dictionary<string, string?> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("tags must be an object of dimension → value.");
        }

        var start = reader;
        Span<char> key = stackalloc char[TagSetPool.MaxKeyLength];
        if (TagSetPool.TryReadKey(ref reader, key, out var length))
        {
            // The same runtime type: only the values' nullability differs, and a pooled set holds none.
            return (Dictionary<string, string?>)(object)TagSetPool.Get(key[..length]);
        }

        reader = start;
        var tags = new Dictionary<string, string?>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var dimension = reader.GetString()!;
            if (!reader.Read() || reader.TokenType is not (JsonTokenType.String or JsonTokenType.Null))
            {
                throw new JsonException($"The value of tag '{dimension}' must be a string.");
            }

            tags[dimension] = reader.GetString();
        }

        return tags;
    }

    public override void Write(Utf8JsonWriter writer, Dictionary<string, string?> value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        foreach (var (dimension, tag) in value)
        {
            writer.WritePropertyName(dimension);
            if (tag is null)
            {
                writer.WriteNullValue();
            }
            else
            {
                writer.WriteStringValue(tag);
            }
        }

        writer.WriteEndObject();
    }
}
