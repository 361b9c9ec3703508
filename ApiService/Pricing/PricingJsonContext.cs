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
public sealed partial class PricingJsonContext : JsonSerializerContext;
