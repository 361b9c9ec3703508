using System.Collections.Concurrent;
using LlmCostTracker.Contracts;

namespace LlmCostTracker.Pricing;

/// <summary>How a model id found its price. Every rule lands on the same model, never a relative: there is no
/// "longest known id it starts with" rule, which priced <c>claude-opus-4-7</c> as <c>claude-opus-4</c>.</summary>
public static class MatchKinds
{
    public const string Exact = "exact";
    public const string Alias = "alias";
    /// <summary>A routing prefix removed: <c>openai/gpt-4o</c>, <c>groq/meta-llama/...</c>, <c>openrouter/...</c>.</summary>
    public const string Prefix = "prefix";
    /// <summary>A cloud's wrapping of the same model removed: Bedrock's region, vendor and <c>-v1:0</c>, Vertex's <c>@version</c>.</summary>
    public const string Cloud = "cloud";
    /// <summary>A dated snapshot of a listed model: <c>-2025-08-07</c>, <c>-20250929</c>, <c>-latest</c>, <c>-preview-06-17</c>.</summary>
    public const string Snapshot = "snapshot";
    /// <summary>A deployment name mapped to a model in configuration (<c>Pricing:Deployments</c>, Azure OpenAI).</summary>
    public const string Deployment = "deployment";
    public const string Fallback = "fallback";
}

/// <summary>The price an event gets: the entry (null for the fallback), how its id matched, and the rates after
/// the prompt-size band and the service tier. <see cref="TierUnpriced"/>: the event asked for a tier the model has
/// no price for, so it was priced at standard.</summary>
public sealed record PriceQuote(PriceEntry? Entry, string Match, Rates Rates, bool LongContext, string Tier, bool TierUnpriced)
{
    public string? KnownModel => Entry?.Id;

    /// <summary>The long-context band priced, as its threshold in input tokens; 0 for the base prices.</summary>
    public long ContextBand { get; init; }
}

/// <summary>The prices in force: a catalog's entries, configuration's and the admin API's overrides, merged into
/// one dated history per model id. Resolves ids (cached, bounded) and prices usage in integer micro-dollars. Pure.</summary>
public sealed class PriceBook
{
    private const int MaxCachedIds = 10_000;

    private readonly Dictionary<string, PriceEntry[]> _byName;
    private readonly Dictionary<string, string> _defaultProvider;
    private readonly Dictionary<string, Dictionary<string, decimal>> _providerTiers;
    private readonly IReadOnlyDictionary<string, string> _deployments;
    private readonly ConcurrentDictionary<(string Model, string? Provider), (PriceEntry[]? History, string Match)> _cache = new();
    private int _cachedIds;

    /// <summary>Later entries win at the same date: pass the catalog's, then configuration's, then overrides. An id
    /// several providers list defaults to the provider that listed it first: the catalog lists each model's maker
    /// first. <paramref name="deployments"/>: deployment name → model id (Azure OpenAI's deployments).</summary>
    public PriceBook(
        IEnumerable<PriceEntry> entries, Dictionary<string, Dictionary<string, decimal>> providerTiers, TokenPrices fallback,
        IReadOnlyDictionary<string, string>? deployments = null)
    {
        var all = entries.ToList();
        Entries = all;
        // Every name (id or alias) → the entries answering to it, in listed order within a date; the provider that
        // listed a name first is its default (the catalog lists each model's maker first). An alias of one provider's
        // model may be another provider's id (OpenAI's gpt-4o-2024-08-06 is an Azure deployment's id too).
        var named = new Dictionary<string, List<(PriceEntry Entry, int Order)>>(StringComparer.OrdinalIgnoreCase);
        _defaultProvider = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (var order = 0; order < all.Count; order++)
        {
            var entry = all[order];
            foreach (var name in entry.Aliases.Prepend(entry.Id))
            {
                if (!named.TryGetValue(name, out var list))
                {
                    named[name] = list = [];
                }

                if (list.Count == 0 || list[^1].Entry != entry)
                {
                    list.Add((entry, order));
                }

                _defaultProvider.TryAdd(name, entry.Provider);
            }
        }

        _byName = named.ToDictionary(
            n => n.Key, n => n.Value.OrderBy(e => e.Entry.EffectiveFrom).ThenBy(e => e.Order).Select(e => e.Entry).ToArray(), StringComparer.OrdinalIgnoreCase);

        _providerTiers = providerTiers;
        _deployments = deployments ?? new Dictionary<string, string>();
        Fallback = fallback.ToRates();
    }

    public IReadOnlyList<PriceEntry> Entries { get; }

    public Rates Fallback { get; }

    /// <summary>The price of an event of <paramref name="model"/> at <paramref name="at"/>.</summary>
    public PriceQuote Quote(string model, string? provider, string? serviceTier, long inputTokens, DateTimeOffset at)
    {
        var (history, match) = Resolve(model, provider);
        var tier = serviceTier is null ? ServiceTiers.Standard : ServiceTiers.Normalize(serviceTier) ?? serviceTier;
        if (history is null || InForce(history, at) is not { } entry)
        {
            return new PriceQuote(null, MatchKinds.Fallback, Fallback, LongContext: false, tier, TierUnpriced: false);
        }

        var band = entry.BandFor(inputTokens);
        var rates = band is not null ? band.ToRates() : entry.ToRates();
        if (tier == ServiceTiers.Standard)
        {
            return new PriceQuote(entry, match, rates, band is not null, tier, TierUnpriced: false) { ContextBand = band?.AboveInputTokens ?? 0 };
        }

        if (entry.Tiers.TryGetValue(tier, out var own))
        {
            if (own.Multiplier is { } m)
            {
                return new PriceQuote(entry, match, rates.Scale(m), band is not null, tier, TierUnpriced: false) { ContextBand = band?.AboveInputTokens ?? 0 };
            }

            var tierBand = PriceEntry.Band(own.Bands, null, inputTokens);
            return new PriceQuote(entry, match, tierBand is not null ? tierBand.ToRates() : own.ToRates(), tierBand is not null, tier, TierUnpriced: false)
            {
                ContextBand = tierBand?.AboveInputTokens ?? 0,
            };
        }

        if (_providerTiers.TryGetValue(entry.Provider, out var tiers) && tiers.TryGetValue(tier, out var multiplier))
        {
            return new PriceQuote(entry, match, rates.Scale(multiplier), band is not null, tier, TierUnpriced: false) { ContextBand = band?.AboveInputTokens ?? 0 };
        }

        return new PriceQuote(entry, match, rates, band is not null, tier, TierUnpriced: true) { ContextBand = band?.AboveInputTokens ?? 0 };
    }

    public PriceQuote Quote(LlmUsage usage) => Quote(usage.Model, usage.Provider, usage.ServiceTier, usage.InputTokens, usage.OccurredAt);

    /// <summary>Every token at its dimension's price, in <c>decimal</c>: uncached text input, cache reads, cache
    /// writes (default lifetime, and 1-hour), audio input, text output, reasoning, audio output. The sub-counts are
    /// parts of <paramref name="input"/> and <paramref name="output"/> as the usage fields define them. A price per 1M
    /// tokens times tokens is micro-dollars, rounded to the nearest (halves away from zero).</summary>
    public static long CostMicros(
        Rates rates, long input, long cached, long cacheWrite, long output, long reasoning,
        long cacheWrite1h = 0, long audioInput = 0, long audioOutput = 0)
    {
        var micros = (input - cached - cacheWrite - audioInput) * rates.Input + (output - reasoning - audioOutput) * rates.Output;
        // Most calls have no cache, reasoning or audio tokens: a term of zero tokens adds nothing, and decimal
        // arithmetic costs as much for zero, so such a term is skipped (the worker prices every event).
        if ((cached | cacheWrite | cacheWrite1h | audioInput | reasoning | audioOutput) != 0)
        {
            micros += cached * rates.CachedInput + (cacheWrite - cacheWrite1h) * rates.CacheWrite + cacheWrite1h * rates.CacheWrite1h
                + audioInput * rates.InputAudio + reasoning * rates.Reasoning + audioOutput * rates.OutputAudio;
        }

        return (long)decimal.Round(micros, MidpointRounding.AwayFromZero);
    }

    public static long CostMicros(Rates rates, LlmUsage usage) =>
        CostMicros(rates, usage.InputTokens, usage.CachedInputTokens, usage.CacheWriteInputTokens, usage.OutputTokens, usage.ReasoningOutputTokens,
            usage.CacheWrite1hInputTokens, usage.AudioInputTokens, usage.AudioOutputTokens);

    /// <summary>The model's price history (the provider's, see <see cref="ForProvider"/>) and how the id matched; null
    /// history for the fallback.</summary>
    public (PriceEntry[]? History, string Match) Resolve(string model, string? provider = null)
    {
        var key = (model, provider);
        if (_cache.TryGetValue(key, out var cached))
        {
            return cached;
        }

        var resolved = ResolveUncached(model, provider);

        // ConcurrentDictionary.Count takes every lock: the bound is kept with a counter of its own.
        if (Volatile.Read(ref _cachedIds) < MaxCachedIds && _cache.TryAdd(key, resolved))
        {
            Interlocked.Increment(ref _cachedIds);
        }

        return resolved;
    }

    /// <summary>What the first resolution of an id costs (<see cref="Resolve"/> without its cache).</summary>
    public (PriceEntry[]? History, string Match) ResolveUncached(string model, string? provider)
    {
        var (history, match, name, routed) = Walk(model);
        if (history is not null)
        {
            history = ForProvider(history, name, provider ?? routed);
            if (match == MatchKinds.Exact && !history[0].Id.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                match = MatchKinds.Alias;
            }
        }

        return (history, match);
    }

    /// <summary>The forms of <see cref="ModelIdForms"/> in order, each looked up exactly; the first listed wins.
    /// Returns the name that matched and the provider a routing prefix named.</summary>
    private (PriceEntry[]? History, string Match, string Name, string? RoutedProvider) Walk(string model)
    {
        var id = model.Trim();
        if (_byName.TryGetValue(id, out var exact))
        {
            return (exact, MatchKinds.Exact, id, null);
        }

        var match = MatchKinds.Prefix;
        if (_deployments.TryGetValue(id, out var deployed))
        {
            (id, match) = (deployed, MatchKinds.Deployment);
            if (_byName.TryGetValue(id, out var mapped))
            {
                return (mapped, match, id, null);
            }
        }

        string? routed = null;
        while (ModelIdForms.StripRoutingPrefix(id) is { } stripped)
        {
            (id, routed) = (stripped.Id, routed ?? stripped.Provider);
            if (_byName.TryGetValue(id, out var prefixed))
            {
                return (prefixed, match, id, routed);
            }
        }

        var cloud = match == MatchKinds.Deployment ? match : MatchKinds.Cloud;
        var snapshot = match == MatchKinds.Deployment ? match : MatchKinds.Snapshot;
        foreach (var form in ModelIdForms.CloudForms(id))
        {
            if (_byName.TryGetValue(form, out var wrapped))
            {
                return (wrapped, cloud, form, routed);
            }

            if (ModelIdForms.StripSnapshot(form) is { } undatedForm && _byName.TryGetValue(undatedForm, out var dated))
            {
                return (dated, snapshot, undatedForm, routed);
            }
        }

        if (ModelIdForms.StripSnapshot(id) is { } undated && _byName.TryGetValue(undated, out var snapshotOf))
        {
            return (snapshotOf, snapshot, undated, routed);
        }

        return (null, MatchKinds.Fallback, id, null);
    }

    /// <summary>The provider's own entries when it has some; otherwise the entries of the provider that listed the
    /// name first.</summary>
    private PriceEntry[] ForProvider(PriceEntry[] history, string name, string? provider)
    {
        if (provider is not null && history.Any(e => e.Provider == provider))
        {
            return history.All(e => e.Provider == provider) ? history : [.. history.Where(e => e.Provider == provider)];
        }

        var first = _defaultProvider[name];
        return history.All(e => e.Provider == first) ? history : [.. history.Where(e => e.Provider == first)];
    }

    /// <summary>The latest entry from before <paramref name="at"/>. Usage older than every entry takes the earliest
    /// catalog or configured entry (a first entry's date is the model's release, and usage before it is a clock
    /// off, not another price); an override never reaches back before its date: without an earlier entry such
    /// usage keeps the fallback it had.</summary>
    private static PriceEntry? InForce(PriceEntry[] history, DateTimeOffset at)
    {
        PriceEntry? inForce = null;
        foreach (var entry in history)
        {
            if (entry.EffectiveFrom <= at)
            {
                inForce = entry;
            }
            else
            {
                break;
            }
        }

        if (inForce is not null)
        {
            return inForce;
        }

        foreach (var entry in history)
        {
            if (entry.Source != PriceSources.Override)
            {
                return entry;
            }
        }

        return null;
    }
}
