namespace LlmCostTracker.Pricing;

// The admin API's pricing answers (GET /api/v1/admin/pricing, .../resolve, .../unknown-models), read by the cost
// dashboard.

/// <summary>The price catalog in force: its date, the pricing version (raised by every override and catalog change),
/// the fallback, every entry, each worker's pricing version, and the catalog version in force.</summary>
public sealed record PricingView(
    DateOnly CatalogAsOf,
    long OverridesVersion,
    Rates Fallback,
    Dictionary<string, Dictionary<string, decimal>> ProviderTiers,
    IReadOnlyList<PriceEntry> Models,
    IReadOnlyList<WorkerPricing> Workers,
    long CatalogVersion = 0);

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

/// <summary>A stored catalog version: <see cref="Version"/> 0 is the catalog shipped in the build.</summary>
public sealed record CatalogVersion(long Version, string Source, DateOnly Checked, int Entries, DateTimeOffset StoredAt, string? Sha256);

/// <summary>The catalog versions, newest first, the one in force, and the state of the scheduled pull (when
/// <c>Pricing:CatalogUrl</c> is set).</summary>
public sealed record CatalogVersionsView(long Current, IReadOnlyList<CatalogVersion> Versions, CatalogPullStatus? Pull);

/// <summary>The scheduled pull of <c>Pricing:CatalogUrl</c>: when it last ran and succeeded, and why the last try failed.</summary>
public sealed record CatalogPullStatus(string Url, DateTimeOffset? LastAttemptAt, DateTimeOffset? LastSuccessAt, string? LastError, long? LastStoredVersion);
