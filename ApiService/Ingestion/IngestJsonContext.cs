using System.Text.Json;
using System.Text.Json.Serialization;
using LlmCostTracker.Contracts;

namespace LlmCostTracker.ApiService.Ingestion;

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(UsageEventRequest))]
[JsonSerializable(typeof(UsageBatchRequest))]
[JsonSerializable(typeof(UsageAccepted))]
[JsonSerializable(typeof(UsageBatchAccepted))]
[JsonSerializable(typeof(BudgetHoldRequest))]
[JsonSerializable(typeof(BudgetHold))]
public sealed partial class IngestJsonContext : JsonSerializerContext;
