using System.ComponentModel.DataAnnotations;
using System.Text.Json;

namespace LlmCostTracker.Pricing;

/// <summary>A price set in configuration (<c>Pricing:Models:&lt;id&gt;:Input</c>, ...): it replaces the catalog's
/// entries of that id for every date.</summary>
public sealed class ConfiguredPrice : TokenPrices
{
    public string? Provider { get; set; }
}

/// <summary>Section <c>Pricing</c>, read by the worker (pricing events) and the API (the pricing admin API): the
/// shipped catalog, with configuration's additions and replacements, and the overrides stored through the admin API.</summary>
public sealed class PricingOptions
{
    public const string SectionName = "Pricing";

    /// <summary>The provider of a configured price that names none.</summary>
    public const string CustomProvider = "custom";

    /// <summary>Since when a configured price applies: always.</summary>
    public static readonly DateTimeOffset Always = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public Dictionary<string, ConfiguredPrice> Models { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Deployment name → model id (<c>Pricing:Deployments:prod-chat = gpt-5.4</c>): Azure OpenAI calls a
    /// deployment by the name its owner gave it, which no price list can know.</summary>
    public Dictionary<string, string> Deployments { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The price of a model that resolves to nothing known (never a silent $0); default the catalog's.</summary>
    public TokenPrices? Fallback { get; set; }

    /// <summary>How often a worker looks for overrides stored through the admin API (it applies them within this).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Optional: a catalog (this project's format, genai-prices' or LiteLLM's) pulled every
    /// <see cref="CatalogPullInterval"/> by the API and stored as a new version when it changed.</summary>
    public Uri? CatalogUrl { get; set; }

    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan CatalogPullInterval { get; set; } = TimeSpan.FromHours(6);

    /// <summary>The largest catalog accepted (upload or pull), in bytes: room for LiteLLM's whole file.</summary>
    [Range(typeof(long), "1024", "268435456")]
    public long MaxCatalogBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>How often a worker writes its counts of models priced at the fallback.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan UnknownModelsFlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Everything wrong with the catalog and the configured prices, each naming its entry.</summary>
    public List<string> Problems()
    {
        var problems = new List<string>();
        try
        {
            PriceCatalog.Shipped();
        }
        catch (PriceCatalogException ex)
        {
            problems.Add(ex.Message);
        }

        var errors = new Dictionary<string, string[]>();
        foreach (var entry in ConfiguredEntries())
        {
            PriceValidation.Check(entry, $"{SectionName}:Models:{entry.Id}:", errors);
        }

        if (Fallback is not null)
        {
            PriceValidation.Check(new PriceEntry { Provider = CustomProvider, Id = "fallback", EffectiveFrom = Always, Input = Fallback.Input, Output = Fallback.Output,
                CachedInput = Fallback.CachedInput, CacheWrite = Fallback.CacheWrite, Reasoning = Fallback.Reasoning }, $"{SectionName}:Fallback:", errors);
        }

        if (CatalogUrl is { } url && (!url.IsAbsoluteUri || url.Scheme is not ("http" or "https")))
        {
            problems.Add($"{SectionName}:CatalogUrl must be an absolute http or https URL.");
        }

        problems.AddRange(errors.Select(e => $"{e.Key.Replace('.', ':')}: {string.Join(" ", e.Value)}"));
        return problems;
    }

    /// <summary>The book in force: the catalog (the shipped one unless a newer version was stored) less the ids
    /// configuration replaces, configuration's prices, then the overrides (dated entries on top of both).</summary>
    public PriceBook Build(IEnumerable<PriceEntry>? overrides = null, PriceCatalog? catalog = null)
    {
        catalog ??= PriceCatalog.Shipped();
        var entries = catalog.Models.Where(e => !Models.ContainsKey(e.Id)).Concat(ConfiguredEntries()).Concat(overrides ?? []);
        return new PriceBook(entries, catalog.ProviderTiers, Fallback ?? catalog.Fallback, Deployments);
    }

    private IEnumerable<PriceEntry> ConfiguredEntries() => Models.Select(m => new PriceEntry
    {
        Provider = m.Value.Provider ?? CustomProvider,
        Id = m.Key,
        EffectiveFrom = Always,
        Input = m.Value.Input,
        CachedInput = m.Value.CachedInput,
        CacheWrite = m.Value.CacheWrite,
        Output = m.Value.Output,
        Reasoning = m.Value.Reasoning,
        Source = PriceSources.Configuration,
    });
}

/// <summary>Overrides stored through the admin API: one Redis hash field a model id, holding that id's override
/// entries (dated) as a JSON array.</summary>
public static class PriceOverrides
{
    public static List<PriceEntry> Read(IEnumerable<string> values) =>
        [.. values.SelectMany(v => JsonSerializer.Deserialize<List<PriceEntry>>(v, PriceCatalog.Json) ?? [])];

    public static string Write(IEnumerable<PriceEntry> entries) => JsonSerializer.Serialize(entries.ToList(), PriceCatalog.Json);
}
