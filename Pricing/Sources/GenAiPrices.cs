using System.Globalization;
using System.Text.Json;

namespace LlmCostTracker.Pricing.Sources;

/// <summary>Reads pydantic's genai-prices (<c>prices/data.json</c>: a list of providers, each with models whose
/// <c>prices</c> are one price set or a dated list of them) into catalog entries. Its ids and its <c>equals</c> and
/// <c>starts_with</c> values become ids and aliases, matched exactly: its prefix rules are how it found a
/// cousin's price (<c>starts_with: claude-opus-4</c> matches <c>claude-opus-4-7</c>), so they are not kept as rules.</summary>
public static class GenAiPrices
{
    /// <summary>genai-prices' provider ids → <c>gen_ai.provider.name</c>. Hugging Face's router and the smaller hosts
    /// are left out: their ids repeat Together's and Groq's under other prices.</summary>
    public static readonly IReadOnlyDictionary<string, string> Providers = new Dictionary<string, string>
    {
        ["openai"] = "openai",
        ["anthropic"] = "anthropic",
        ["google"] = "gcp.gemini",
        ["x-ai"] = "x_ai",
        ["mistral"] = "mistral_ai",
        ["deepseek"] = "deepseek",
        ["cohere"] = "cohere",
        ["moonshotai"] = "moonshot",
        ["perplexity"] = "perplexity",
        ["groq"] = "groq",
        ["together"] = "together",
        ["fireworks"] = "fireworks",
        ["cerebras"] = "cerebras",
        ["voyageai"] = "voyage",
        ["zhipuai"] = "zhipu",
        ["minimax"] = "minimax",
        ["azure"] = "azure.ai.openai",
        ["aws"] = "aws.bedrock",
        ["openrouter"] = "openrouter",
        ["novita"] = "novita",
    };

    private static readonly string[] GoogleHostedMakers = ["claude", "llama", "mistral", "codestral", "deepseek", "qwen", "jamba"];

    public static List<PriceEntry> Read(JsonElement root, CatalogSource source, List<string> skipped)
    {
        var entries = new List<PriceEntry>();
        foreach (var provider in root.EnumerateArray())
        {
            var providerId = provider.GetProperty("id").GetString()!;
            if (!Providers.TryGetValue(providerId, out var providerName))
            {
                skipped.Add($"genai-prices provider {providerId}: not a provider the catalog covers");
                continue;
            }

            var pages = provider.TryGetProperty("pricing_urls", out var urls) ? urls.EnumerateArray().Select(u => u.GetString()!).ToList() : [];
            foreach (var model in provider.GetProperty("models").EnumerateArray())
            {
                var id = model.GetProperty("id").GetString()!;
                var name = providerName == "gcp.gemini" && GoogleHostedMakers.Any(m => id.Contains(m, StringComparison.OrdinalIgnoreCase)) ? "gcp.vertex_ai" : providerName;
                var ids = MatchIds(model.GetProperty("match")).Prepend(id).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
                if (providerId == "aws" && id.StartsWith("regional.", StringComparison.Ordinal))
                {
                    // Bedrock's in-region ids at the regional price: us./eu./au./jp.anthropic.… and the region-less form.
                    var rest = id["regional.".Length..];
                    var regions = Contains(model.GetProperty("match"))
                        .Select(c => c.Split('.')[0] + ".")
                        .Where(r => r.Length <= 6 && r != "global.")
                        .Distinct().ToList();
                    ids = [.. regions.Select(r => r + rest), rest, .. ids.Skip(1)];
                }

                if (providerId == "aws")
                {
                    // Bedrock's rules also match the maker's own ids (starts_with: claude-opus-4-8): those are the
                    // maker's price, not Bedrock's, so only Bedrock's own forms (vendor. or region.vendor.) are kept.
                    ids = [ids[0], .. ids.Skip(1).Where(n => ModelIdForms.CloudForms(n).Any())];
                }

                var sets = PriceSets(model.GetProperty("prices")).ToList();
                if (sets.Any(s => s.Problem is not null))
                {
                    skipped.Add($"genai-prices {providerId}/{id}: {sets.First(s => s.Problem is not null).Problem}");
                    continue;
                }

                foreach (var set in sets)
                {
                    var entry = ToEntry(set.Prices, out var problem);
                    if (entry is null)
                    {
                        skipped.Add($"genai-prices {providerId}/{id}: {problem}");
                        break;
                    }

                    entry.Provider = name;
                    entry.Id = ids[0];
                    entry.Aliases = [.. ids.Skip(1)];
                    entry.EffectiveFrom = set.From;
                    entry.Origin = Origin(source);
                    entry.Checked = source.Date;
                    entry.Reference = pages.FirstOrDefault(p => name == "gcp.vertex_ai" && p.Contains("vertex", StringComparison.Ordinal)) ?? pages.FirstOrDefault();
                    entries.Add(entry);
                }
            }
        }

        return entries;
    }

    public static string Origin(CatalogSource source) => source.Version is null ? source.Name : $"{source.Name}@{source.Version}";

    private static IEnumerable<string> MatchIds(JsonElement match)
    {
        foreach (var property in match.EnumerateObject())
        {
            switch (property.Name)
            {
                case "equals" or "starts_with":
                    yield return property.Value.GetString()!;
                    break;
                case "or":
                    foreach (var inner in property.Value.EnumerateArray().SelectMany(MatchIds))
                    {
                        yield return inner;
                    }

                    break;
            }
        }
    }

    private static IEnumerable<string> Contains(JsonElement match)
    {
        foreach (var property in match.EnumerateObject())
        {
            if (property.Name == "contains")
            {
                yield return property.Value.GetString()!;
            }
            else if (property.Name == "or")
            {
                foreach (var inner in property.Value.EnumerateArray().SelectMany(Contains))
                {
                    yield return inner;
                }
            }
        }
    }

    private static IEnumerable<(DateTimeOffset From, JsonElement Prices, string? Problem)> PriceSets(JsonElement prices)
    {
        if (prices.ValueKind == JsonValueKind.Object)
        {
            yield return (PricingOptions.Always, prices, null);
            yield break;
        }

        foreach (var set in prices.EnumerateArray())
        {
            var from = PricingOptions.Always;
            string? problem = null;
            if (set.TryGetProperty("constraint", out var constraint))
            {
                foreach (var rule in constraint.EnumerateObject())
                {
                    if (rule.Name == "start_date")
                    {
                        from = new DateTimeOffset(DateOnly.ParseExact(rule.Value.GetString()!, "yyyy-MM-dd", CultureInfo.InvariantCulture), TimeOnly.MinValue, TimeSpan.Zero);
                    }
                    else
                    {
                        problem = $"a price constraint the catalog cannot express ({rule.Name})";
                    }
                }
            }

            yield return (from, set.GetProperty("prices"), problem);
        }
    }

    private static PriceEntry? ToEntry(JsonElement prices, out string? problem)
    {
        problem = null;
        var entry = new PriceEntry();
        var bands = new SortedDictionary<long, LongContextPrices>();
        foreach (var field in prices.EnumerateObject())
        {
            Action<TokenPrices, decimal>? set = field.Name switch
            {
                "input_mtok" => (p, v) => p.Input = v,
                "output_mtok" => (p, v) => p.Output = v,
                "cache_read_mtok" => (p, v) => p.CachedInput = v,
                "cache_write_mtok" => (p, v) => p.CacheWrite = v,
                "input_audio_mtok" => (p, v) => p.InputAudio = v,
                "output_audio_mtok" => (p, v) => p.OutputAudio = v,
                _ => null,
            };
            if (set is null)
            {
                // cache_audio_read_mtok, requests_kcount: dimensions the usage event does not carry.
                continue;
            }

            if (field.Value.ValueKind == JsonValueKind.Number)
            {
                set(entry, field.Value.GetDecimal());
                continue;
            }

            set(entry, field.Value.GetProperty("base").GetDecimal());
            foreach (var tier in field.Value.GetProperty("tiers").EnumerateArray())
            {
                var start = tier.GetProperty("start").GetInt64();
                if (!bands.TryGetValue(start, out var band))
                {
                    bands[start] = band = new LongContextPrices { AboveInputTokens = start };
                }

                set(band, tier.GetProperty("price").GetDecimal());
            }
        }

        if (entry.Input is null)
        {
            problem = "no input price";
            return null;
        }

        if (entry.Output is null)
        {
            entry.Output = 0;
            entry.Mode = "embedding";
        }

        // A band lists only the fields that change at its threshold: the others keep the price below it.
        TokenPrices below = entry;
        foreach (var band in bands.Values)
        {
            band.FillFrom(below);
            below = band;
        }

        entry.Bands = [.. bands.Values];
        return entry;
    }
}
