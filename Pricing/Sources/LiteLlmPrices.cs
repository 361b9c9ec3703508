using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using LlmCostTracker.Contracts;

namespace LlmCostTracker.Pricing.Sources;

/// <summary>Reads LiteLLM's <c>model_prices_and_context_window.json</c> (a flat map, id → <c>*_cost_per_token</c>
/// fields, with <c>_above_Nk_tokens</c> bands and <c>_batches</c>/<c>_priority</c>/<c>_flex</c> tiers) into catalog
/// entries: chat, completion, responses and embedding models of the providers the catalog covers, under the ids their
/// APIs use (LiteLLM's routing prefix removed).</summary>
public static partial class LiteLlmPrices
{
    public static readonly IReadOnlyDictionary<string, string> Providers = new Dictionary<string, string>
    {
        ["openai"] = "openai",
        ["text-completion-openai"] = "openai",
        ["anthropic"] = "anthropic",
        ["gemini"] = "gcp.gemini",
        ["xai"] = "x_ai",
        ["mistral"] = "mistral_ai",
        ["codestral"] = "mistral_ai",
        ["deepseek"] = "deepseek",
        ["cohere"] = "cohere",
        ["cohere_chat"] = "cohere",
        ["dashscope"] = "dashscope",
        ["amazon_nova"] = "amazon_nova",
        ["moonshot"] = "moonshot",
        ["perplexity"] = "perplexity",
        ["groq"] = "groq",
        ["together_ai"] = "together",
        ["fireworks_ai"] = "fireworks",
        ["fireworks_ai-embedding-models"] = "fireworks",
        ["cerebras"] = "cerebras",
        ["voyage"] = "voyage",
        ["azure"] = "azure.ai.openai",
        ["azure_ai"] = "azure.ai.inference",
        ["bedrock"] = "aws.bedrock",
        ["bedrock_converse"] = "aws.bedrock",
        ["vertex_ai"] = "gcp.vertex_ai",
        ["openrouter"] = "openrouter",
    };

    private static readonly Dictionary<string, Action<TokenPrices, decimal>> Fields = new()
    {
        ["input_cost_per_token"] = (p, v) => p.Input = v,
        ["output_cost_per_token"] = (p, v) => p.Output = v,
        ["cache_read_input_token_cost"] = (p, v) => p.CachedInput = v,
        ["cache_creation_input_token_cost"] = (p, v) => p.CacheWrite = v,
        ["cache_creation_input_token_cost_above_1hr"] = (p, v) => p.CacheWrite1h = v,
        ["input_cost_per_audio_token"] = (p, v) => p.InputAudio = v,
        ["output_cost_per_audio_token"] = (p, v) => p.OutputAudio = v,
        ["output_cost_per_reasoning_token"] = (p, v) => p.Reasoning = v,
    };

    private static readonly Dictionary<string, string> TierSuffixes = new()
    {
        ["_batches"] = ServiceTiers.Batch,
        ["_priority"] = ServiceTiers.Priority,
        ["_flex"] = ServiceTiers.Flex,
    };

    public static List<PriceEntry> Read(JsonElement root, CatalogSource source, List<string> skipped)
    {
        var entries = new List<PriceEntry>();
        foreach (var model in root.EnumerateObject())
        {
            var value = model.Value;
            if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty("litellm_provider", out var providerElement)
                || providerElement.ValueKind != JsonValueKind.String)
            {
                continue;
            }

            var mode = value.TryGetProperty("mode", out var modeElement) ? modeElement.GetString() : null;
            if (mode is not ("chat" or "completion" or "responses" or "embedding"))
            {
                continue;
            }

            var litellmProvider = providerElement.GetString()!;
            var provider = litellmProvider.StartsWith("vertex_ai", StringComparison.Ordinal) ? "gcp.vertex_ai" : Providers.GetValueOrDefault(litellmProvider);
            if (provider is null)
            {
                continue;
            }

            if (ApiId(model.Name, provider) is not { } id)
            {
                skipped.Add($"litellm {model.Name}: a regional or commitment path, not an id an API is called with");
                continue;
            }

            var entry = ToEntry(value);
            if (entry is null)
            {
                skipped.Add($"litellm {model.Name}: no per-token input price");
                continue;
            }

            entry.Provider = provider;
            entry.Id = id;
            entry.Mode = mode == "embedding" ? "embedding" : null;
            entry.EffectiveFrom = PricingOptions.Always;
            entry.Origin = GenAiPrices.Origin(source);
            entry.Checked = source.Date;
            entry.Reference = value.TryGetProperty("source", out var page) && page.ValueKind == JsonValueKind.String ? page.GetString() : null;
            entries.Add(entry);
        }

        return entries;
    }

    /// <summary>The id the provider's API takes: LiteLLM's routing prefix removed (<c>groq/meta-llama/x</c> →
    /// <c>meta-llama/x</c>), Vertex's <c>@default</c> removed; null for Azure's and Bedrock's regional and
    /// commitment paths (<c>azure/eu/…</c>, <c>bedrock/us-east-1/…</c>).</summary>
    public static string? ApiId(string key, string provider)
    {
        var id = key;
        if (ModelIdForms.StripRoutingPrefix(id) is { } stripped && stripped.Provider == provider)
        {
            id = stripped.Id;
        }

        if (provider is "azure.ai.openai" or "aws.bedrock" && id.Contains('/'))
        {
            return null;
        }

        if (id.EndsWith("@default", StringComparison.OrdinalIgnoreCase))
        {
            id = id[..^"@default".Length];
        }

        return id.Length is > 0 and <= PriceValidation.MaxIdLength && !id.Any(char.IsWhiteSpace) ? id : null;
    }

    private static PriceEntry? ToEntry(JsonElement value)
    {
        var entry = new PriceEntry();
        var bands = new SortedDictionary<long, LongContextPrices>();
        var tiers = new Dictionary<string, TierPrices>();
        foreach (var property in value.EnumerateObject())
        {
            if (property.Value.ValueKind != JsonValueKind.Number)
            {
                continue;
            }

            var name = property.Name;
            string? tier = null;
            foreach (var (suffix, tierName) in TierSuffixes)
            {
                if (name.EndsWith(suffix, StringComparison.Ordinal))
                {
                    (name, tier) = (name[..^suffix.Length], tierName);
                    break;
                }
            }

            long? above = null;
            if (Above().Match(name) is { Success: true } band)
            {
                above = long.Parse(band.Groups[1].Value, CultureInfo.InvariantCulture) * 1000;
                name = name[..band.Index];
            }

            if (name == "input_cost_per_token_cache_hit")
            {
                name = "cache_read_input_token_cost";
            }

            if (!Fields.TryGetValue(name, out var set))
            {
                continue;
            }

            var price = PerMillion(property.Value);
            TokenPrices target = tier is null ? entry : tiers.TryGetValue(tier, out var t) ? t : tiers[tier] = new TierPrices();
            if (above is { } threshold)
            {
                var list = tier is null ? bands : null;
                if (list is not null)
                {
                    if (!list.TryGetValue(threshold, out var b))
                    {
                        list[threshold] = b = new LongContextPrices { AboveInputTokens = threshold };
                    }

                    set(b, price);
                }
                else
                {
                    var tierPrices = (TierPrices)target;
                    var b = tierPrices.Bands.FirstOrDefault(x => x.AboveInputTokens == threshold);
                    if (b is null)
                    {
                        tierPrices.Bands.Add(b = new LongContextPrices { AboveInputTokens = threshold });
                    }

                    set(b, price);
                }
            }
            else
            {
                set(target, price);
            }
        }

        if (entry.Input is null && value.TryGetProperty("tiered_pricing", out var ranges) && ranges.ValueKind == JsonValueKind.Array)
        {
            // Prompt-size ranges ([0, 32k], [32k, 128k], ...): the first is the base price, each later one a band
            // from its lower bound.
            foreach (var range in ranges.EnumerateArray())
            {
                var from = (long)range.GetProperty("range")[0].GetDouble();
                TokenPrices target = from == 0 ? entry : bands[from] = new LongContextPrices { AboveInputTokens = from };
                foreach (var property in range.EnumerateObject())
                {
                    if (property.Value.ValueKind == JsonValueKind.Number && Fields.TryGetValue(property.Name, out var set))
                    {
                        set(target, PerMillion(property.Value));
                    }
                }
            }
        }

        if (entry.Input is null)
        {
            return null;
        }

        entry.Output ??= 0;
        foreach (var band in bands.Values)
        {
            band.FillFrom(entry);
        }

        entry.Bands = [.. bands.Values];
        foreach (var (name, tier) in tiers)
        {
            if (tier.Input is null && tier.Output is null)
            {
                continue;
            }

            // A tier lists what it changes; the rest is the standard price scaled as its input is.
            var scale = tier.Input is { } ti && entry.Input > 0 ? ti / entry.Input.Value : tier.Output is { } to && entry.Output > 0 ? to / entry.Output.Value : 1;
            tier.Input ??= entry.Input * scale;
            tier.Output ??= entry.Output * scale;
            tier.CachedInput ??= entry.CachedInput * scale;
            tier.CacheWrite ??= entry.CacheWrite * scale;
            tier.Bands.Sort((a, b) => a.AboveInputTokens.CompareTo(b.AboveInputTokens));
            foreach (var band in tier.Bands)
            {
                band.FillFrom(tier);
            }

            entry.Tiers[name] = tier;
        }

        return entry;
    }

    /// <summary>A price per token as USD per 1M tokens, exact: the JSON text is read as a decimal (2.5e-06 → 2.5).</summary>
    private static decimal PerMillion(JsonElement value) =>
        CatalogBuilder.Normalize(decimal.Parse(value.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture) * 1_000_000m);

    [GeneratedRegex(@"_above_(\d+)k_tokens$", RegexOptions.CultureInvariant)]
    private static partial Regex Above();
}
