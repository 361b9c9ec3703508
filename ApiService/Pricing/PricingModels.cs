using LlmCostTracker.Pricing;

namespace LlmCostTracker.ApiService.Pricing;

/// <summary>The body of <c>PUT /api/v1/admin/pricing/models/{modelId}</c>: USD per 1M tokens, applied from
/// <see cref="EffectiveFrom"/> (default: now) to events that occurred from then on.</summary>
public sealed class PriceOverrideRequest : TokenPrices
{
    public string? Provider { get; set; }
    public DateTimeOffset? EffectiveFrom { get; set; }
    public string[]? Aliases { get; set; }
    public LongContextPrices? LongContext { get; set; }
    public Dictionary<string, TierPrices>? Tiers { get; set; }
}
