using System.Collections.Concurrent;
using LlmCostTracker.Contracts;

namespace LlmCostTracker.WorkerService.Pricing;

/// <summary>What a model id resolved to: the price, the known name (null for the fallback).</summary>
public sealed record PriceResolution(string? KnownModel, ModelPrice Price);

/// <summary>Resolves model ids to prices and prices usage in integer micro-dollars. Pure apart from a bounded
/// resolution cache.</summary>
public sealed class UsagePricing
{
    private const int MaxCachedIds = 10_000;
    private readonly Dictionary<string, ModelPrice> _models;
    private readonly string[] _familiesLongestFirst;
    private readonly ModelPrice _fallback;
    private readonly ConcurrentDictionary<string, PriceResolution> _cache = new(StringComparer.Ordinal);

    public UsagePricing(PricingOptions options)
    {
        _models = new Dictionary<string, ModelPrice>(options.Models, StringComparer.OrdinalIgnoreCase);
        _familiesLongestFirst = [.. _models.Keys.OrderByDescending(k => k.Length)];
        _fallback = options.Fallback;
    }

    /// <summary>Exact id, then the id without a provider prefix (<c>openai/gpt-4o</c>), then the longest known
    /// family the id starts with, followed by a separator (<c>gpt-4o-2024-08-06</c> → gpt-4o, never gpt-4).</summary>
    public PriceResolution Resolve(string model)
    {
        if (_cache.TryGetValue(model, out var cached))
        {
            return cached;
        }

        var resolved = ResolveUncached(model);
        if (_cache.Count < MaxCachedIds)
        {
            _cache.TryAdd(model, resolved);
        }

        return resolved;
    }

    private PriceResolution ResolveUncached(string model)
    {
        var id = model.Trim();
        if (_models.TryGetValue(id, out var exact))
        {
            return new PriceResolution(id.ToLowerInvariant(), exact);
        }

        var slash = id.LastIndexOf('/');
        if (slash >= 0 && slash < id.Length - 1)
        {
            id = id[(slash + 1)..];
            if (_models.TryGetValue(id, out var unprefixed))
            {
                return new PriceResolution(id.ToLowerInvariant(), unprefixed);
            }
        }

        foreach (var family in _familiesLongestFirst)
        {
            if (id.Length > family.Length
                && id.StartsWith(family, StringComparison.OrdinalIgnoreCase)
                && id[family.Length] is '-' or ':' or '@')
            {
                return new PriceResolution(family.ToLowerInvariant(), _models[family]);
            }
        }

        return new PriceResolution(null, _fallback);
    }

    /// <summary>(input − cached) × input + cached × cached-input + output × output, in <c>decimal</c>. A price
    /// per 1M tokens times tokens is micro-dollars, rounded to the nearest (halves away from zero).</summary>
    public static long CostMicros(ModelPrice price, long inputTokens, long cachedInputTokens, long outputTokens)
    {
        var micros = (inputTokens - cachedInputTokens) * price.Input
            + cachedInputTokens * price.CachedInputOrInput
            + outputTokens * price.Output;
        return (long)decimal.Round(micros, MidpointRounding.AwayFromZero);
    }

    public long CostMicros(LlmUsage usage) =>
        CostMicros(Resolve(usage.Model).Price, usage.InputTokens, usage.CachedInputTokens, usage.OutputTokens);
}
