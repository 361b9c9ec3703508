using LlmCostTracker.Contracts.Reporting;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlmCostTracker.ApiService.Reporting;

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(SetBudgetRequest))]
[JsonSerializable(typeof(UserBudget))]
[JsonSerializable(typeof(CostReport))]
[JsonSerializable(typeof(UserCostDetail))]
[JsonSerializable(typeof(TagCostReport))]
[JsonSerializable(typeof(TagCostDetail))]
[JsonSerializable(typeof(TagBudget))]
[JsonSerializable(typeof(SetTagBudgetRequest))]
[JsonSerializable(typeof(AlertWebhookInfo[]))]
[JsonSerializable(typeof(AlertWebhookTestResult))]
public sealed partial class AdminJsonContext : JsonSerializerContext;
