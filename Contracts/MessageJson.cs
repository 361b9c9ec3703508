using System.Text.Json;

namespace LlmCostTracker.Contracts;

/// <summary>The JSON settings of the services' broker messages (applied to MassTransit's shared options), in one
/// place so that the API, which writes them, and the worker, which reads them, agree.</summary>
public static class MessageJson
{
    public static JsonSerializerOptions Configure(JsonSerializerOptions json)
    {
        // MassTransit's defaults write indented and read with comment skipping (perf of the worker in the batch
        // drain: ~9% of its samples in the comment-skipping tokenizer); messages are machine-made.
        json.WriteIndented = false;
        json.ReadCommentHandling = JsonCommentHandling.Disallow;
        json.AllowTrailingCommas = false;
        // Usage events travel as arrays, not objects, a repeated trace parent left out (LlmUsageWireConverter).
        var events = new LlmUsageWireConverter();
        json.Converters.Insert(0, events);
        json.Converters.Insert(0, new LlmUsageListWireConverter(events));
        return json;
    }
}
