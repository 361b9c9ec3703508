using System.Text.Json;
using System.Text.Json.Serialization;
using LlmCostTracker.Contracts;

namespace LlmCostTracker.Pricing;

/// <summary>Prices in USD per 1M tokens for each dimension providers bill. <see cref="CachedInput"/> and
/// <see cref="CacheWrite"/> default to <see cref="Input"/>, <see cref="CacheWrite1h"/> to <see cref="CacheWrite"/>,
/// <see cref="InputAudio"/> to <see cref="Input"/>; <see cref="Reasoning"/> and <see cref="OutputAudio"/> to
/// <see cref="Output"/>.</summary>
public class TokenPrices
{
    public decimal? Input { get; set; }
    public decimal? CachedInput { get; set; }

    /// <summary>Cache writes of the default lifetime (Anthropic: 5 minutes).</summary>
    public decimal? CacheWrite { get; set; }

    /// <summary>Cache writes with a 1-hour lifetime (Anthropic: twice the input price).</summary>
    public decimal? CacheWrite1h { get; set; }

    public decimal? Output { get; set; }
    public decimal? Reasoning { get; set; }
    public decimal? InputAudio { get; set; }
    public decimal? OutputAudio { get; set; }

    /// <summary>Fills each price not set here from <paramref name="other"/> (a band from the prices below it, a source
    /// from another that lists more dimensions).</summary>
    public void FillFrom(TokenPrices other)
    {
        Input ??= other.Input;
        CachedInput ??= other.CachedInput;
        CacheWrite ??= other.CacheWrite;
        CacheWrite1h ??= other.CacheWrite1h;
        Output ??= other.Output;
        Reasoning ??= other.Reasoning;
        InputAudio ??= other.InputAudio;
        OutputAudio ??= other.OutputAudio;
    }

    public Rates ToRates()
    {
        var input = Input ?? 0;
        var output = Output ?? 0;
        var cacheWrite = CacheWrite ?? input;
        return new(input, CachedInput ?? input, cacheWrite, output, Reasoning ?? output, CacheWrite1h ?? cacheWrite, InputAudio ?? input, OutputAudio ?? output);
    }
}

/// <summary>A prompt-size band: every token of a request whose input tokens (all of them) exceed
/// <see cref="AboveInputTokens"/> is priced at these prices, as providers bill. A model may have several; the one with
/// the highest threshold the request exceeds applies.</summary>
public sealed class LongContextPrices : TokenPrices
{
    public long AboveInputTokens { get; set; }
}

/// <summary>A service tier's price: a <see cref="Multiplier"/> of the standard (or band) prices, or prices of its own,
/// with prompt-size <see cref="Bands"/> of its own.</summary>
public sealed class TierPrices : TokenPrices
{
    public decimal? Multiplier { get; set; }

    public List<LongContextPrices> Bands { get; set; } = [];
}

/// <summary>One model's prices from <see cref="EffectiveFrom"/> on. A model may have several entries (its price
/// history); an event is priced with the one in force at its <c>occurredAt</c>.</summary>
public sealed class PriceEntry : TokenPrices
{
    /// <summary>The <c>gen_ai.provider.name</c> that bills it (<c>openai</c>, <c>anthropic</c>, <c>gcp.gemini</c>, ...).</summary>
    public string Provider { get; set; } = "";

    /// <summary>The model id as the provider's API names it.</summary>
    public string Id { get; set; } = "";

    /// <summary>Other ids that mean the same model exactly.</summary>
    public string[] Aliases { get; set; } = [];

    public DateTimeOffset EffectiveFrom { get; set; }

    /// <summary>One prompt-size band (the form before <see cref="Bands"/>; still read, and merged with them).</summary>
    public LongContextPrices? LongContext { get; set; }

    /// <summary>Prompt-size bands at any thresholds (128k, 200k, 272k, ...).</summary>
    public List<LongContextPrices> Bands { get; set; } = [];

    /// <summary>Prices by service tier (<see cref="ServiceTiers"/>), beyond the catalog's per-provider rules.</summary>
    public Dictionary<string, TierPrices> Tiers { get; set; } = [];

    /// <summary><c>chat</c> (the default) or <c>embedding</c> (input only).</summary>
    public string? Mode { get; set; }

    /// <summary>Where the price came from: <c>catalog</c>, <c>configuration</c> or <c>override</c>.</summary>
    public string Source { get; set; } = PriceSources.Catalog;

    /// <summary>For catalog entries, the list it was generated from (<c>genai-prices@47df840</c>, <c>litellm@8442b93</c>,
    /// <c>overlay</c>).</summary>
    public string? Origin { get; set; }

    /// <summary>The day the price was last checked against its source.</summary>
    public DateOnly? Checked { get; set; }

    /// <summary>The page or document the figures were read from (catalog entries).</summary>
    public string? Reference { get; set; }

    /// <summary>The band a request of <paramref name="inputTokens"/> falls in, or null for the base prices.</summary>
    public LongContextPrices? BandFor(long inputTokens) => Band(Bands, LongContext, inputTokens);

    internal static LongContextPrices? Band(List<LongContextPrices> bands, LongContextPrices? single, long inputTokens)
    {
        var best = single is not null && inputTokens > single.AboveInputTokens ? single : null;
        foreach (var band in bands)
        {
            if (inputTokens > band.AboveInputTokens && (best is null || band.AboveInputTokens > best.AboveInputTokens))
            {
                best = band;
            }
        }

        return best;
    }
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

    /// <summary>The public lists the catalog was generated from, each with its version and date.</summary>
    public List<CatalogSource> Sources { get; set; } = [];

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

/// <summary>A public price list a catalog was generated from: <c>genai-prices</c> at commit <c>47df840</c> of 2026-08-21.</summary>
public sealed class CatalogSource
{
    public string Name { get; set; } = "";
    public string? Version { get; set; }
    public DateOnly? Date { get; set; }
    public string? Url { get; set; }
}

/// <summary>A price entry or catalog that cannot be used; the message names the entry and the field.</summary>
public sealed class PriceCatalogException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Prices resolved to one number a dimension (USD per 1M tokens, so a count of tokens times a price is
/// micro-dollars).</summary>
public readonly record struct Rates(
    decimal Input, decimal CachedInput, decimal CacheWrite, decimal Output, decimal Reasoning, decimal CacheWrite1h, decimal InputAudio, decimal OutputAudio)
{
    public Rates Scale(decimal multiplier) =>
        new(Input * multiplier, CachedInput * multiplier, CacheWrite * multiplier, Output * multiplier, Reasoning * multiplier,
            CacheWrite1h * multiplier, InputAudio * multiplier, OutputAudio * multiplier);
}
