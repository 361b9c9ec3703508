namespace LlmCostTracker.Contracts.Pricing;

// The admin API's pricing answers (GET /api/v1/admin/pricing, .../resolve, .../unknown-models), read by the cost
// dashboard.

/// <summary>The price catalog in force: its date, the overrides version, the fallback, every entry, and each
/// worker's overrides version.</summary>
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
