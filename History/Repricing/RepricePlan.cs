using LlmCostTracker.History.Rollups;
using LlmCostTracker.Pricing;

namespace LlmCostTracker.History.Repricing;

/// <summary>A daily row whose cost a re-price changes: its key, requests, and the cost before and after (micro-USD).</summary>
public readonly record struct RowChange(UsageKey Key, long Requests, long Before, long After)
{
    public long Delta => After - Before;
}

/// <summary>A row a re-price leaves as it is because one price cannot be right for all of its day: the model's price
/// changes during that day, and a daily row cannot tell which of its requests came before the change.</summary>
public readonly record struct RowSkip(DateOnly Day, string Model, DateTimeOffset PriceChangedAt);

/// <summary>Prices daily rows again with a price book, one row at a time (pure: the rows come from PostgreSQL, the
/// book from the prices in force). A row is priced at the price in force at the start of its day (00:00 UTC), in the
/// context band and service tier it was counted in. The ledger rounds each request to the micro-dollar and this
/// rounds the row once, so a row whose price did not change can differ by up to half a micro-dollar a request: a
/// row changes only when the new cost is further from the old than that, which also makes a second run change
/// nothing.</summary>
public sealed class RepricePlan(PriceBook book, IReadOnlyCollection<string>? models)
{
    private readonly HashSet<string>? _models = models is { Count: > 0 } ? new(models, StringComparer.OrdinalIgnoreCase) : null;

    public long RowsExamined { get; private set; }

    public List<RowChange> Changes { get; } = [];

    public List<RowSkip> Skips { get; } = [];

    /// <summary>Prices one row; returns whether it changes (then it is in <see cref="Changes"/>).</summary>
    public bool Add(UsageKey key, in RollupCounters counters)
    {
        var provider = key.Provider.Length == 0 ? null : key.Provider;
        var (history, _) = book.Resolve(key.Model, provider);
        if (_models is not null && !_models.Contains(key.Model) && (history is null || !_models.Contains(history[0].Id)))
        {
            return false;
        }

        RowsExamined++;
        var dayStart = new DateTimeOffset(key.Day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        if (history is not null && history.FirstOrDefault(e => e.EffectiveFrom > dayStart && e.EffectiveFrom < dayStart.AddDays(1)) is { } change)
        {
            Skips.Add(new RowSkip(key.Day, key.Model, change.EffectiveFrom));
            return false;
        }

        // The band is stored as its threshold: any prompt above it lands in the same band again (0: base prices).
        var quote = book.Quote(key.Model, provider, key.ServiceTier, key.ContextBand > 0 ? key.ContextBand + 1 : 0, dayStart);
        var after = PriceBook.CostMicros(quote.Rates, counters.Input, counters.Cached, counters.CacheWrite, counters.Output, counters.Reasoning,
            counters.CacheWrite1h, counters.AudioInput, counters.AudioOutput);
        if (!Differs(counters.CostMicros, after, counters.Requests))
        {
            return false;
        }

        Changes.Add(new RowChange(key, counters.Requests, counters.CostMicros, after));
        return true;
    }

    /// <summary>Whether <paramref name="after"/> is further from <paramref name="before"/> than rounding each of
    /// <paramref name="requests"/> on its own (at most half a micro-dollar each) and the sum once can make it.</summary>
    public static bool Differs(long before, long after, long requests) => 2 * Math.Abs(after - before) > requests + 1;
}
