using LlmCostTracker.Contracts.Pricing;

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

public sealed record PricingView(
    DateOnly CatalogAsOf,
    long OverridesVersion,
    Rates Fallback,
    Dictionary<string, Dictionary<string, decimal>> ProviderTiers,
    IReadOnlyList<PriceEntry> Models,
    IReadOnlyList<WorkerPricing> Workers);

/// <summary>A worker and the overrides version it prices with, as of its last check.</summary>
public sealed record WorkerPricing(string Worker, long OverridesVersion, DateTimeOffset CheckedAt);

/// <summary>Which entry and prices an event would get, and why.</summary>
public sealed record PriceResolution(
    string Model,
    string Match,
    string? Provider,
    string? ResolvedId,
    DateTimeOffset? EffectiveFrom,
    string? Source,
    string ServiceTier,
    bool TierUnpriced,
    bool LongContext,
    Rates PricesPerMillionTokens);

public sealed record UnknownModelRow(string Model, long Requests, decimal CostUsd);

public sealed record UnknownModelsReport(string Month, string Currency, IReadOnlyList<UnknownModelRow> Models);
