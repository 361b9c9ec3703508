using System.Collections.Concurrent;

namespace LlmCostTracker.Contracts.Pricing;

/// <summary>How a model id found its price.</summary>
public static class MatchKinds
{
    public const string Exact = "exact";
    public const string Alias = "alias";
    /// <summary>A provider's prefix or suffix removed: <c>openai/gpt-4o</c>, Bedrock's <c>us.anthropic.…-v1:0</c>.</summary>
    public const string Prefix = "prefix";
    /// <summary>The longest known id the id starts with, followed by <c>-</c>, <c>:</c> or <c>@</c> (a dated snapshot).</summary>
    public const string Family = "family";
    public const string Fallback = "fallback";
}

/// <summary>The price an event gets: the entry (null for the fallback), how its id matched, and the rates after
/// the long-context band and the service tier. <see cref="TierUnpriced"/>: the event asked for a tier the model has
/// no price for, so it was priced at standard.</summary>
public sealed record PriceQuote(PriceEntry? Entry, string Match, Rates Rates, bool LongContext, string Tier, bool TierUnpriced)
{
    public string? KnownModel => Entry?.Id;
}

/// <summary>The prices in force: the catalog's entries, configuration's and the admin API's overrides, merged into
/// one dated history per model id. Resolves ids (cached, bounded) and prices usage in integer micro-dollars. Pure.</summary>
public sealed class PriceBook
{
    private const int MaxCachedIds = 10_000;
    private static readonly string[] BedrockRegions = ["us.", "eu.", "apac.", "ap.", "global.", "us-gov.", "jp.", "au.", "ca."];
    private static readonly string[] BedrockVendors = ["anthropic.", "openai.", "google.", "meta.", "amazon.", "mistral.", "cohere."];

    private readonly Dictionary<string, PriceEntry[]> _byId;
    private readonly Dictionary<string, string> _aliases;
    private readonly Dictionary<string, string> _defaultProvider;
    private readonly Dictionary<string, Dictionary<string, decimal>> _providerTiers;
    private readonly ConcurrentDictionary<(string Model, string? Provider), (PriceEntry[]? History, string Match)> _cache = new();
    private int _cachedIds;

    /// <summary>Later entries win at the same date: pass the catalog's, then configuration's, then overrides.</summary>
    public PriceBook(IEnumerable<PriceEntry> entries, Dictionary<string, Dictionary<string, decimal>> providerTiers, TokenPrices fallback)
    {
        var all = entries.ToList();
        Entries = all;
        _byId = all
            .Select((entry, order) => (entry, order))
            .GroupBy(e => e.entry.Id, StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.OrderBy(e => e.entry.EffectiveFrom).ThenBy(e => e.order).Select(e => e.entry).ToArray(), StringComparer.OrdinalIgnoreCase);
        // An id several providers list defaults to the provider that listed it first (the catalog, then configuration).
        _defaultProvider = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in all)
        {
            _defaultProvider.TryAdd(entry.Id, entry.Provider);
        }

        _aliases = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in all)
        {
            foreach (var alias in entry.Aliases)
            {
                _aliases.TryAdd(alias, entry.Id);
            }
        }

        _providerTiers = providerTiers;
        Fallback = fallback.ToRates();
    }

    public IReadOnlyList<PriceEntry> Entries { get; }

    public Rates Fallback { get; }

    /// <summary>The price of an event of <paramref name="model"/> at <paramref name="at"/>.</summary>
    public PriceQuote Quote(string model, string? provider, string? serviceTier, long inputTokens, DateTimeOffset at)
    {
        var (history, match) = Resolve(model, provider);
        var tier = serviceTier is null ? ServiceTiers.Standard : ServiceTiers.Normalize(serviceTier) ?? serviceTier;
        if (history is null)
        {
            return new PriceQuote(null, MatchKinds.Fallback, Fallback, LongContext: false, tier, TierUnpriced: false);
        }

        if (InForce(history, at) is not { } entry)
        {
            return new PriceQuote(null, MatchKinds.Fallback, Fallback, LongContext: false, tier, TierUnpriced: false);
        }

        var longContext = entry.LongContext is { } band && inputTokens > band.AboveInputTokens;
        var rates = longContext ? entry.LongContext!.ToRates() : entry.ToRates();
        if (tier == ServiceTiers.Standard)
        {
            return new PriceQuote(entry, match, rates, longContext, tier, TierUnpriced: false);
        }

        if (entry.Tiers.TryGetValue(tier, out var own))
        {
            return new PriceQuote(entry, match, own.Multiplier is { } m ? rates.Scale(m) : own.ToRates(), longContext, tier, TierUnpriced: false);
        }

        if (_providerTiers.TryGetValue(entry.Provider, out var tiers) && tiers.TryGetValue(tier, out var multiplier))
        {
            return new PriceQuote(entry, match, rates.Scale(multiplier), longContext, tier, TierUnpriced: false);
        }

        return new PriceQuote(entry, match, rates, longContext, tier, TierUnpriced: true);
    }

    public PriceQuote Quote(LlmUsage usage) => Quote(usage.Model, usage.Provider, usage.ServiceTier, usage.InputTokens, usage.OccurredAt);

    /// <summary>(input − cached − cache writes) × input + cached × cached input + cache writes × cache write +
    /// (output − reasoning) × output + reasoning × reasoning, in <c>decimal</c>. A price per 1M tokens times tokens
    /// is micro-dollars, rounded to the nearest (halves away from zero).</summary>
    public static long CostMicros(Rates rates, long input, long cached, long cacheWrite, long output, long reasoning)
    {
        var micros = (input - cached - cacheWrite) * rates.Input
            + cached * rates.CachedInput
            + cacheWrite * rates.CacheWrite
            + (output - reasoning) * rates.Output
            + reasoning * rates.Reasoning;
        return (long)decimal.Round(micros, MidpointRounding.AwayFromZero);
    }

    public static long CostMicros(Rates rates, LlmUsage usage) =>
        CostMicros(rates, usage.InputTokens, usage.CachedInputTokens, usage.CacheWriteInputTokens, usage.OutputTokens, usage.ReasoningOutputTokens);

    /// <summary>The model's price history (the provider's, see <see cref="ForProvider"/>) and how the id matched; null
    /// history for the fallback.</summary>
    public (PriceEntry[]? History, string Match) Resolve(string model, string? provider = null)
    {
        var key = (model, provider);
        if (_cache.TryGetValue(key, out var cached))
        {
            return cached;
        }

        var resolved = ResolveUncached(model);
        if (resolved.History is not null)
        {
            resolved.History = ForProvider(resolved.History, provider);
        }

        // ConcurrentDictionary.Count takes every lock: the bound is kept with a counter of its own.
        if (Volatile.Read(ref _cachedIds) < MaxCachedIds && _cache.TryAdd(key, resolved))
        {
            Interlocked.Increment(ref _cachedIds);
        }

        return resolved;
    }

    private (PriceEntry[]? History, string Match) ResolveUncached(string model)
    {
        var id = model.Trim();
        if (Lookup(id, MatchKinds.Exact) is { History: not null } exact)
        {
            return exact;
        }

        var stripped = StripProviderForms(id);
        if (!string.Equals(stripped, id, StringComparison.Ordinal) && Lookup(stripped, MatchKinds.Prefix) is { History: not null } prefixed)
        {
            return prefixed;
        }

        // The longest known id the id starts with, followed by a separator: one lookup a separator, from the end.
        var byId = _byId.GetAlternateLookup<ReadOnlySpan<char>>();
        for (var end = stripped.Length - 1; end > 0; end--)
        {
            if (stripped[end] is '-' or ':' or '@' && byId.TryGetValue(stripped.AsSpan(0, end), out var family))
            {
                return (family, MatchKinds.Family);
            }
        }

        return (null, MatchKinds.Fallback);
    }

    private (PriceEntry[]? History, string Match) Lookup(string id, string kind)
    {
        if (_byId.TryGetValue(id, out var history))
        {
            return (history, kind);
        }

        return _aliases.TryGetValue(id, out var canonical) ? (_byId[canonical], kind == MatchKinds.Exact ? MatchKinds.Alias : kind) : (null, kind);
    }

    /// <summary><c>openai/gpt-4o</c> → <c>gpt-4o</c>; Bedrock's <c>us.anthropic.claude-haiku-4-5-20251001-v1:0</c>
    /// → <c>claude-haiku-4-5-20251001</c>.</summary>
    private static string StripProviderForms(string id)
    {
        var slash = id.LastIndexOf('/');
        if (slash >= 0 && slash < id.Length - 1)
        {
            id = id[(slash + 1)..];
        }

        var region = BedrockRegions.FirstOrDefault(r => id.StartsWith(r, StringComparison.OrdinalIgnoreCase) && BedrockVendors.Any(v => id.AsSpan(r.Length).StartsWith(v, StringComparison.OrdinalIgnoreCase)));
        if (region is not null)
        {
            id = id[region.Length..];
        }

        var vendor = BedrockVendors.FirstOrDefault(v => id.StartsWith(v, StringComparison.OrdinalIgnoreCase));
        if (vendor is null)
        {
            return id;
        }

        id = id[vendor.Length..];
        // Bedrock's version suffix: -v1:0, -v2, -v1:0:200k.
        var version = id.LastIndexOf("-v", StringComparison.OrdinalIgnoreCase);
        return version > 0 && version + 2 < id.Length && char.IsAsciiDigit(id[version + 2]) ? id[..version] : id;
    }

    /// <summary>The provider's own entries when it has some; otherwise, for an id several providers list, the
    /// entries of the provider that listed it first.</summary>
    private PriceEntry[] ForProvider(PriceEntry[] history, string? provider)
    {
        if (provider is not null && history.Any(e => e.Provider == provider))
        {
            return [.. history.Where(e => e.Provider == provider)];
        }

        var first = _defaultProvider[history[0].Id];
        return history.All(e => e.Provider == first) ? history : [.. history.Where(e => e.Provider == first)];
    }

    /// <summary>The latest entry from before <paramref name="at"/>. Usage older than every entry takes the earliest
    /// catalog or configured entry (a first entry's date is the model's release, and usage before it is a clock
    /// off, not another price); an override never reaches back before its date: without an earlier entry such
    /// usage keeps the fallback it had.</summary>
    private static PriceEntry? InForce(PriceEntry[] history, DateTimeOffset at)
    {
        PriceEntry? inForce = null, earliestListed = null;
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
                earliestListed = entry;
                break;
            }
        }

        return earliestListed;
    }
}
