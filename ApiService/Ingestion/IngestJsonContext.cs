using System.Text.Json;
using System.Text.Json.Serialization;
using LlmCostTracker.Contracts;

namespace LlmCostTracker.ApiService.Ingestion;

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(UsageEventRequest))]
[JsonSerializable(typeof(UsageBatchRequest))]
[JsonSerializable(typeof(UsageEventBody))]
[JsonSerializable(typeof(UsageBatchBody))]
[JsonSerializable(typeof(UsageAccepted))]
[JsonSerializable(typeof(UsageBatchAccepted))]
[JsonSerializable(typeof(BudgetHoldRequest))]
[JsonSerializable(typeof(BudgetHold))]
public sealed partial class IngestJsonContext : JsonSerializerContext;

/// <summary>How the ingestion endpoints read a body: <see cref="IngestJsonContext"/> with request tags read into
/// pooled sets (<see cref="PooledTagsJsonConverter"/>). Only for reading: the OpenAPI document and the answers keep
/// the plain context, so the tags schema stays an object of strings.</summary>
public static class IngestRequestJson
{
    public static IngestJsonContext Context { get; } = new(new JsonSerializerOptions(IngestJsonContext.Default.Options)
    {
        Converters = { new PooledTagsJsonConverter() },
    });
}
