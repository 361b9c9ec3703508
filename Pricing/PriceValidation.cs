using LlmCostTracker.Contracts;

namespace LlmCostTracker.Pricing;

/// <summary>The rules every price entry meets, wherever it comes from (the catalog file, configuration, the admin
/// API). Errors are keyed by field path (<c>models[3].input</c> or <c>input</c>) and say which entry.</summary>
public static class PriceValidation
{
    public const decimal MaxPrice = 1_000_000m;
    public const decimal MaxMultiplier = 100m;
    public const int MaxIdLength = UsageValidator.MaxModelLength;

    /// <summary>Throws <see cref="PriceCatalogException"/> naming the first bad entry.</summary>
    public static void Validate(PriceCatalog catalog)
    {
        var errors = Errors(catalog);
        if (errors.Count > 0)
        {
            var (field, messages) = errors.First();
            throw new PriceCatalogException(
                $"Price catalog: {field}: {string.Join(" ", messages)}{(errors.Count > 1 ? $" (and {errors.Count - 1} more)" : "")}");
        }
    }

    /// <summary>Every problem of a catalog, keyed by field path (<c>models[3].input</c>); each message names its entry.</summary>
    public static Dictionary<string, string[]> Errors(PriceCatalog catalog)
    {
        var errors = new Dictionary<string, string[]>();
        CheckPrices(catalog.Fallback, "fallback", errors, required: true);
        foreach (var (provider, tiers) in catalog.ProviderTiers)
        {
            foreach (var (tier, multiplier) in tiers)
            {
                if (ServiceTiers.Normalize(tier) is null or ServiceTiers.Standard)
                {
                    errors[$"providerTiers.{provider}.{tier}"] = [$"'{tier}' is not a tier (batch, flex or priority)."];
                }
                else if (multiplier is <= 0 or > MaxMultiplier)
                {
                    errors[$"providerTiers.{provider}.{tier}"] = [$"A multiplier is from 0 (excluded) to {MaxMultiplier}."];
                }
            }
        }

        var seen = new Dictionary<(string, string, DateTimeOffset), int>();
        var owner = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var labels = new Dictionary<string, string>();
        for (var i = 0; i < catalog.Models.Count; i++)
        {
            var entry = catalog.Models[i];
            var path = $"models[{i}]";
            labels[path] = $"{entry.Provider}/{entry.Id}";
            Check(entry, path + ".", errors);
            if (!seen.TryAdd((entry.Provider, entry.Id.ToLowerInvariant(), entry.EffectiveFrom), i))
            {
                errors[path] = [$"{entry.Provider}/{entry.Id} from {entry.EffectiveFrom:yyyy-MM-dd} is listed twice (models[{seen[(entry.Provider, entry.Id.ToLowerInvariant(), entry.EffectiveFrom)]}])."];
            }

            // Within one provider a name means one model; across providers the same name is each one's own price.
            owner.TryAdd(entry.Provider + "/" + entry.Id, entry.Id);
            foreach (var alias in entry.Aliases)
            {
                if (owner.TryGetValue(entry.Provider + "/" + alias, out var other) && !string.Equals(other, entry.Id, StringComparison.OrdinalIgnoreCase))
                {
                    errors[path + ".aliases"] = [$"'{alias}' already names {entry.Provider}/{other}."];
                }

                owner.TryAdd(entry.Provider + "/" + alias, entry.Id);
            }
        }

        if (catalog.Models.Count == 0)
        {
            errors["models"] = ["A catalog lists at least one model."];
        }

        // Each message names its entry: models[1812] alone is no help in a 2,000-entry file.
        return errors.ToDictionary(
            e => e.Key,
            e => labels.Where(l => e.Key == l.Key || e.Key.StartsWith(l.Key + ".", StringComparison.Ordinal)).Select(l => l.Value).FirstOrDefault() is { } entry
                ? [.. e.Value.Select(m => $"{entry}: {m}")]
                : e.Value);
    }

    /// <summary>Adds each problem of one entry to <paramref name="errors"/> under <paramref name="prefix"/> + field.</summary>
    public static void Check(PriceEntry entry, string prefix, IDictionary<string, string[]> errors)
    {
        if (!UsageValidator.IsProviderName(entry.Provider))
        {
            errors[prefix + "provider"] = ["provider must be a gen_ai.provider.name: lowercase letters, digits and ._- (openai, anthropic, gcp.gemini, custom)."];
        }

        if (!IsModelId(entry.Id))
        {
            errors[prefix + "id"] = [$"id must be 1 to {MaxIdLength} printable characters without spaces."];
        }

        for (var a = 0; a < entry.Aliases.Length; a++)
        {
            if (!IsModelId(entry.Aliases[a]))
            {
                errors[$"{prefix}aliases[{a}]"] = [$"An alias must be 1 to {MaxIdLength} printable characters without spaces."];
            }
        }

        if (entry.EffectiveFrom == default)
        {
            errors[prefix + "effectiveFrom"] = ["effectiveFrom is required (the date the price applies from)."];
        }

        CheckPrices(entry, prefix.TrimEnd('.'), errors, required: true);
        if (entry.LongContext is { } longContext)
        {
            CheckBand(longContext, prefix + "longContext", errors);
        }

        CheckBands(entry.Bands, prefix + "bands", errors);
        if (entry.Mode is not null and not ("chat" or "embedding"))
        {
            errors[prefix + "mode"] = ["mode is chat or embedding."];
        }

        foreach (var (tier, price) in entry.Tiers)
        {
            var path = $"{prefix}tiers.{tier}";
            if (ServiceTiers.Normalize(tier) is null or ServiceTiers.Standard)
            {
                errors[path] = [$"'{tier}' is not a tier (batch, flex or priority)."];
            }
            else if (price.Multiplier is { } multiplier)
            {
                if (multiplier is <= 0 or > MaxMultiplier)
                {
                    errors[path + ".multiplier"] = [$"A multiplier is from 0 (excluded) to {MaxMultiplier}."];
                }
                else if (price.Input is not null || price.Output is not null)
                {
                    errors[path] = ["A tier has a multiplier or prices, not both."];
                }
            }
            else
            {
                CheckPrices(price, path, errors, required: true);
                CheckBands(price.Bands, path + ".bands", errors);
            }
        }
    }

    private static void CheckBands(List<LongContextPrices> bands, string path, IDictionary<string, string[]> errors)
    {
        for (var b = 0; b < bands.Count; b++)
        {
            CheckBand(bands[b], $"{path}[{b}]", errors);
            if (b > 0 && bands[b].AboveInputTokens <= bands[b - 1].AboveInputTokens)
            {
                errors[$"{path}[{b}].aboveInputTokens"] = ["Bands are listed by rising aboveInputTokens, each threshold once."];
            }
        }
    }

    private static void CheckBand(LongContextPrices band, string path, IDictionary<string, string[]> errors)
    {
        CheckPrices(band, path, errors, required: true);
        if (band.AboveInputTokens is <= 0 or > UsageValidator.MaxTokens)
        {
            errors[path + ".aboveInputTokens"] = ["aboveInputTokens must be a positive token count."];
        }
    }

    private static void CheckPrices(TokenPrices prices, string path, IDictionary<string, string[]> errors, bool required)
    {
        var prefix = path.Length == 0 ? "" : path + ".";
        Range(prices.Input, prefix + "input", required, errors);
        Range(prices.Output, prefix + "output", required, errors);
        Range(prices.CachedInput, prefix + "cachedInput", required: false, errors);
        Range(prices.CacheWrite, prefix + "cacheWrite", required: false, errors);
        Range(prices.Reasoning, prefix + "reasoning", required: false, errors);
        Range(prices.CacheWrite1h, prefix + "cacheWrite1h", required: false, errors);
        Range(prices.InputAudio, prefix + "inputAudio", required: false, errors);
        Range(prices.OutputAudio, prefix + "outputAudio", required: false, errors);
    }

    private static void Range(decimal? value, string field, bool required, IDictionary<string, string[]> errors)
    {
        if (value is null)
        {
            if (required)
            {
                errors[field] = [$"{Name(field)} is required (USD per 1M tokens)."];
            }
        }
        else if (value is < 0 or > MaxPrice)
        {
            errors[field] = [$"{Name(field)} must be 0 to 1,000,000 USD per 1M tokens."];
        }
    }

    private static bool IsModelId(string? id) =>
        !string.IsNullOrEmpty(id) && id.Length <= MaxIdLength && !id.Any(c => char.IsControl(c) || char.IsWhiteSpace(c));

    private static string Name(string field) => field[(field.LastIndexOf('.') + 1)..];
}
