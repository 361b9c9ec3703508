using System.Text.Json;

namespace LlmCostTracker.Pricing.Sources;

/// <summary>Hand-written corrections that win over the public lists, each with its reason and source
/// (<c>Pricing/price-overlay.json</c>): tier rules per provider, patches to generated entries, and whole entries.</summary>
public sealed class PriceOverlay
{
    /// <summary>The day these corrections were last checked against the providers' pages.</summary>
    public DateOnly Checked { get; set; }

    public TokenPrices Fallback { get; set; } = new();

    public Dictionary<string, Dictionary<string, decimal>> ProviderTiers { get; set; } = [];

    public List<OverlayPatch> Patches { get; set; } = [];

    /// <summary>Entries added, or replacing every generated entry of the same provider and id; each names its source
    /// and reason in <c>reference</c>.</summary>
    public List<PriceEntry> Models { get; set; } = [];

    public static PriceOverlay Shipped()
    {
        using var stream = typeof(PriceOverlay).Assembly.GetManifestResourceStream("price-overlay.json")
            ?? throw new InvalidOperationException("price-overlay.json is not embedded.");
        return JsonSerializer.Deserialize<PriceOverlay>(stream, PriceCatalog.Json) ?? throw new PriceCatalogException("The overlay is empty.");
    }
}

/// <summary>A correction to the current entry of one generated model.</summary>
public sealed class OverlayPatch
{
    public string Provider { get; set; } = "";
    public string Id { get; set; } = "";

    /// <summary>Prices set (the fields given replace the generated ones).</summary>
    public TokenPrices? Set { get; set; }

    /// <summary>Tiers the model does not have (a source lists a price the provider does not bill).</summary>
    public string[] RemoveTiers { get; set; } = [];

    public string Reason { get; set; } = "";
    public string Reference { get; set; } = "";
}

/// <summary>What the builder made: the catalog, the models where the sources disagree by over 1% (with the choice
/// and its rule), and what it left out and why.</summary>
public sealed record CatalogBuild(PriceCatalog Catalog, IReadOnlyList<string> Conflicts, IReadOnlyList<string> Skipped);

/// <summary>Turns the public price lists into the project's catalog: genai-prices first (dated prices, provider
/// pages), LiteLLM's file second (breadth, cloud ids, tier and band prices), then the overlay. Used by the
/// generator (<c>eng/PriceCatalogTool</c>) and by <c>PUT /api/v1/admin/pricing/catalog</c> for a public list, so
/// both convert the same way.</summary>
public static class CatalogBuilder
{
    private const decimal ConflictTolerance = 0.01m;

    /// <summary>Which provider an id several list defaults to: each model's maker before the clouds and routers that
    /// resell it (an event without <c>provider</c> for <c>gpt-4o</c> is OpenAI's, not Azure's).</summary>
    private static readonly string[] ProviderOrder =
    [
        "openai", "anthropic", "gcp.gemini", "x_ai", "mistral_ai", "deepseek", "cohere", "dashscope", "amazon_nova", "moonshot",
        "zhipu", "minimax", "perplexity", "voyage", "groq", "together", "fireworks", "cerebras", "novita",
        "azure.ai.openai", "azure.ai.inference", "aws.bedrock", "gcp.vertex_ai", "openrouter",
    ];

    /// <summary>Which format a price list is in: <c>catalog</c> (this project's), <c>genai-prices</c> or <c>litellm</c>.</summary>
    public static string FormatOf(JsonElement root) =>
        root.ValueKind == JsonValueKind.Array ? "genai-prices"
        : root.ValueKind == JsonValueKind.Object && root.TryGetProperty("models", out var models) && models.ValueKind == JsonValueKind.Array ? "catalog"
        : root.ValueKind == JsonValueKind.Object ? "litellm"
        : throw new PriceCatalogException("A price list is a JSON object (this catalog or LiteLLM's) or array (genai-prices).");

    public static CatalogBuild Build(PriceOverlay overlay, JsonElement? genaiPrices, CatalogSource? genaiSource, JsonElement? litellm, CatalogSource? litellmSource)
    {
        var skipped = new List<string>();
        var conflicts = new List<string>();
        var first = genaiPrices is { } g ? GenAiPrices.Read(g, genaiSource!, skipped) : [];
        var second = litellm is { } l ? LiteLlmPrices.Read(l, litellmSource!, skipped) : [];

        // genai-prices' models by provider and every id they answer to.
        var byName = new Dictionary<(string, string), List<PriceEntry>>();
        foreach (var group in first.GroupBy(e => (e.Provider, e.Id.ToLowerInvariant())))
        {
            var history = group.OrderBy(e => e.EffectiveFrom).ToList();
            foreach (var name in history.SelectMany(e => e.Aliases.Prepend(e.Id)).Select(n => n.ToLowerInvariant()).Distinct())
            {
                byName.TryAdd((group.Key.Provider, name), history);
            }
        }

        var entries = new List<PriceEntry>(first);
        var seen = new HashSet<(string, string)>();
        foreach (var entry in second)
        {
            var key = (entry.Provider, entry.Id.ToLowerInvariant());
            if (!seen.Add(key))
            {
                continue;
            }

            // LiteLLM lists dated snapshots apart (claude-sonnet-4-5-20250929); genai-prices' model of the same name
            // carries the dated history (a premium that ended), so a snapshot at the same price joins it as an alias.
            // One at another price is another model to the provider (gemini-pro-latest is not gemini-pro): kept apart.
            if (!byName.TryGetValue(key, out var history))
            {
                if (ModelIdForms.StripSnapshot(entry.Id) is { } undated && byName.TryGetValue((entry.Provider, undated.ToLowerInvariant()), out var undatedHistory)
                    && Differences(undatedHistory[^1], entry).Count == 0)
                {
                    history = undatedHistory;
                }
                else
                {
                    entries.Add(entry);
                    continue;
                }
            }

            var current = history[^1];
            var differences = Differences(current, entry);
            if (differences.Count > 0)
            {
                conflicts.Add($"{entry.Provider}/{entry.Id}: {string.Join("; ", differences)} -> genai-prices' price (rule: the dated list checked against provider pages wins)");
            }
            else
            {
                Complete(current, entry);
            }

            if (!history[0].Id.Equals(entry.Id, StringComparison.OrdinalIgnoreCase) && !current.Aliases.Contains(entry.Id, StringComparer.OrdinalIgnoreCase))
            {
                foreach (var dated in history)
                {
                    dated.Aliases = [.. dated.Aliases, entry.Id];
                }
            }
        }

        var providerTiers = new Dictionary<string, Dictionary<string, decimal>>(overlay.ProviderTiers);
        ApplyOverlay(overlay, entries, skipped);
        var ordered = entries
            .OrderBy(e => Array.IndexOf(ProviderOrder, e.Provider) is var i and >= 0 ? i : ProviderOrder.Length)
            .ThenBy(e => e.Provider, StringComparer.Ordinal)
            .ThenBy(e => e.Id, StringComparer.OrdinalIgnoreCase)
            .ThenBy(e => e.EffectiveFrom)
            .ToList();
        DeduplicateAliases(ordered);

        var dates = new[] { genaiSource?.Date, litellmSource?.Date, overlay.Checked }.Where(d => d is not null).Select(d => d!.Value);
        var catalog = new PriceCatalog
        {
            AsOf = dates.DefaultIfEmpty(DateOnly.MinValue).Max(),
            Sources = [.. new[] { genaiSource, litellmSource }.Where(s => s is not null).Select(s => s!)],
            Fallback = overlay.Fallback,
            ProviderTiers = providerTiers,
            Models = ordered,
        };
        PriceValidation.Validate(catalog);
        return new CatalogBuild(catalog, conflicts, skipped);
    }

    /// <summary>A price with trailing zeros removed (2.500000 → 2.5), so the catalog's JSON reads as the lists do.</summary>
    public static decimal Normalize(decimal value) => value / 1.000000000000000000000000000000000m;

    private static List<string> Differences(PriceEntry first, PriceEntry second)
    {
        var differences = new List<string>();
        Compare("input", first.Input, second.Input, differences);
        Compare("output", first.Output, second.Output, differences);
        Compare("cachedInput", first.CachedInput, second.CachedInput, differences);
        Compare("cacheWrite", first.CacheWrite, second.CacheWrite, differences);
        return differences;
    }

    private static void Compare(string field, decimal? first, decimal? second, List<string> differences)
    {
        if (first is { } a && second is { } b && Math.Abs(a - b) > ConflictTolerance * Math.Max(Math.Abs(a), Math.Abs(b)))
        {
            differences.Add($"{field} {a} (genai-prices) vs {b} (litellm)");
        }
    }

    /// <summary>The dimensions LiteLLM prices and genai-prices does not, added to genai-prices' current entry when
    /// the two agree on the rest.</summary>
    private static void Complete(PriceEntry current, PriceEntry other)
    {
        current.FillFrom(other);
        if (current.Bands.Count == 0)
        {
            current.Bands = other.Bands;
        }

        foreach (var (tier, prices) in other.Tiers)
        {
            current.Tiers.TryAdd(tier, prices);
        }

        if (current.Mode is null && other.Mode is not null)
        {
            current.Mode = other.Mode;
        }
    }

    private static void ApplyOverlay(PriceOverlay overlay, List<PriceEntry> entries, List<string> skipped)
    {
        foreach (var patch in overlay.Patches)
        {
            var current = entries
                .Where(e => e.Provider == patch.Provider && e.Id.Equals(patch.Id, StringComparison.OrdinalIgnoreCase))
                .MaxBy(e => e.EffectiveFrom);
            if (current is null)
            {
                skipped.Add($"overlay patch {patch.Provider}/{patch.Id}: no such generated entry");
                continue;
            }

            if (patch.Set is { } set)
            {
                current.Input = set.Input ?? current.Input;
                current.CachedInput = set.CachedInput ?? current.CachedInput;
                current.CacheWrite = set.CacheWrite ?? current.CacheWrite;
                current.CacheWrite1h = set.CacheWrite1h ?? current.CacheWrite1h;
                current.Output = set.Output ?? current.Output;
                current.Reasoning = set.Reasoning ?? current.Reasoning;
                current.InputAudio = set.InputAudio ?? current.InputAudio;
                current.OutputAudio = set.OutputAudio ?? current.OutputAudio;
            }

            foreach (var tier in patch.RemoveTiers)
            {
                current.Tiers.Remove(tier);
            }

            current.Origin = $"{current.Origin}+overlay";
            current.Reference = $"{patch.Reason} ({patch.Reference})";
            current.Checked = overlay.Checked;
        }

        foreach (var model in overlay.Models)
        {
            // The overlay owns the id: its entries are the whole history.
            entries.RemoveAll(e => e.Provider == model.Provider && e.Id.Equals(model.Id, StringComparison.OrdinalIgnoreCase) && e.Origin != "overlay");
            model.Origin = "overlay";
            model.Checked ??= overlay.Checked;
            entries.Add(model);
        }
    }

    /// <summary>Within a provider, an alias is dropped when it is another entry's id or an earlier entry's alias for
    /// another id (ids first, then the order above), so a name means one model of each provider.</summary>
    private static void DeduplicateAliases(List<PriceEntry> entries)
    {
        var ids = new HashSet<string>(entries.Select(e => e.Provider + "/" + e.Id), StringComparer.OrdinalIgnoreCase);
        var owner = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in entries)
        {
            entry.Aliases = [.. entry.Aliases
                .Where(a => !a.EndsWith('-') && !a.EndsWith('.') && !a.EndsWith('/'))
                .Where(a => !a.Equals(entry.Id, StringComparison.OrdinalIgnoreCase) && !ids.Contains(entry.Provider + "/" + a))
                .Where(a => owner.TryAdd(entry.Provider + "/" + a, entry.Id) || owner[entry.Provider + "/" + a].Equals(entry.Id, StringComparison.OrdinalIgnoreCase))
                .Distinct(StringComparer.OrdinalIgnoreCase)];
        }
    }
}
