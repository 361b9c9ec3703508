using System.Text.Json;
using System.Text.Json.Serialization;
using LlmCostTracker.Pricing;

namespace LlmCostTracker.ApiService.Pricing;

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, NumberHandling = JsonNumberHandling.Strict, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(PriceOverrideRequest))]
[JsonSerializable(typeof(PriceEntry))]
[JsonSerializable(typeof(PricingView))]
[JsonSerializable(typeof(PriceResolution))]
[JsonSerializable(typeof(UnknownModelsReport))]
[JsonSerializable(typeof(PriceCatalog))]
[JsonSerializable(typeof(CatalogVersion))]
[JsonSerializable(typeof(CatalogVersionsView))]
[JsonSerializable(typeof(LlmCostTracker.ApiService.Apis.RepriceBody))]
[JsonSerializable(typeof(LlmCostTracker.History.Repricing.RepriceResult))]
[JsonSerializable(typeof(LlmCostTracker.History.Repricing.RepriceRun[]))]
public sealed partial class PricingJsonContext : JsonSerializerContext;
