using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlmCostTracker.Contracts.Pricing;

/// <summary>Prices in USD per 1M tokens for each dimension providers bill. <see cref="CachedInput"/>,
/// <see cref="CacheWrite"/> default to <see cref="Input"/>; <see cref="Reasoning"/> to <see cref="Output"/>.</summary>
public class TokenPrices
{
    public decimal? Input { get; set; }
    public decimal? CachedInput { get; set; }
    public decimal? CacheWrite { get; set; }
    public decimal? Output { get; set; }
    public decimal? Reasoning { get; set; }

    public Rates ToRates() => new(Input ?? 0, CachedInput ?? Input ?? 0, CacheWrite ?? Input ?? 0, Output ?? 0, Reasoning ?? Output ?? 0);
}

/// <summary>A request's long-context band: every token of a request whose input tokens (all of them) exceed
/// <see cref="AboveInputTokens"/> is priced at these prices, as providers bill.</summary>
public sealed class LongContextPrices : TokenPrices
{
    public long AboveInputTokens { get; set; }
}

/// <summary>A service tier's price: a <see cref="Multiplier"/> of the standard (or long-context) prices, or prices
/// of its own.</summary>
public sealed class TierPrices : TokenPrices
{
    public decimal? Multiplier { get; set; }
}

/// <summary>One model's prices from <see cref="EffectiveFrom"/> on. A model may have several entries (its price
/// history); an event is priced with the one in force at its <c>occurredAt</c>.</summary>
public sealed class PriceEntry : TokenPrices
{
    /// <summary>The <c>gen_ai.provider.name</c> that bills it (<c>openai</c>, <c>anthropic</c>, <c>gcp.gemini</c>, ...).</summary>
    public string Provider { get; set; } = "";

    /// <summary>The canonical model id, also the family its dated snapshots resolve to.</summary>
    public string Id { get; set; } = "";

    /// <summary>Other ids that mean the same model exactly.</summary>
    public string[] Aliases { get; set; } = [];

    public DateTimeOffset EffectiveFrom { get; set; }

    public LongContextPrices? LongContext { get; set; }

    /// <summary>Prices by service tier (<see cref="ServiceTiers"/>), beyond the catalog's per-provider rules.</summary>
    public Dictionary<string, TierPrices> Tiers { get; set; } = [];

    /// <summary>Where the price came from: <c>catalog</c>, <c>configuration</c> or <c>override</c>.</summary>
    public string Source { get; set; } = PriceSources.Catalog;

    /// <summary>The page or document the figures were read from (catalog entries).</summary>
    public string? Reference { get; set; }
}

public static class PriceSources
{
    public const string Catalog = "catalog";
    public const string Configuration = "configuration";
    public const string Override = "override";
}

/// <summary>The shipped price catalog (<c>Pricing/price-catalog.json</c>, embedded in this assembly): dated list
/// prices, the fallback for unknown models, and per-provider tier multipliers (e.g. batch at half price).</summary>
public sealed class PriceCatalog
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>The day the prices were last checked.</summary>
    public DateOnly AsOf { get; set; }

    public TokenPrices Fallback { get; set; } = new();

    /// <summary>Provider → tier → multiplier of every standard price (OpenAI and Anthropic batch: 0.5).</summary>
    public Dictionary<string, Dictionary<string, decimal>> ProviderTiers { get; set; } = [];

    public List<PriceEntry> Models { get; set; } = [];

    public static PriceCatalog Shipped() => LazyShipped.Value;

    private static readonly Lazy<PriceCatalog> LazyShipped = new(() =>
    {
        using var stream = typeof(PriceCatalog).Assembly.GetManifestResourceStream("price-catalog.json")
            ?? throw new InvalidOperationException("price-catalog.json is not embedded.");
        var catalog = Parse(stream);
        PriceValidation.Validate(catalog);
        return catalog;
    });

    public static PriceCatalog Parse(Stream json)
    {
        try
        {
            return JsonSerializer.Deserialize<PriceCatalog>(json, Json) ?? throw new PriceCatalogException("The price catalog is empty.");
        }
        catch (JsonException ex)
        {
            throw new PriceCatalogException($"The price catalog is not valid JSON at {ex.Path}: {ex.Message}", ex);
        }
    }
}

/// <summary>A price entry or catalog that cannot be used; the message names the entry and the field.</summary>
public sealed class PriceCatalogException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Prices resolved to one number a dimension (USD per 1M tokens, so a count of tokens times a price is
/// micro-dollars).</summary>
public readonly record struct Rates(decimal Input, decimal CachedInput, decimal CacheWrite, decimal Output, decimal Reasoning)
{
    public Rates Scale(decimal multiplier) =>
        new(Input * multiplier, CachedInput * multiplier, CacheWrite * multiplier, Output * multiplier, Reasoning * multiplier);
}
