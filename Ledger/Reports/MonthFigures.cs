using StackExchange.Redis;

namespace LlmCostTracker.Ledger.Reports;

/// <summary>A month's figures read from one or more month hashes (a user's, a bucket's share of the month, a tag
/// value's share): the totals, per model and the cost per day (<c>yyyy-MM-dd</c>, micro-USD, in day order). Alert
/// states in the same hash are skipped.</summary>
public sealed class MonthFigures
{
    public LedgerCounters Totals { get; private set; }

    public Dictionary<string, LedgerCounters> Models { get; } = new(StringComparer.Ordinal);

    public SortedDictionary<string, long> Days { get; } = new(StringComparer.Ordinal);

    /// <summary>Adds one month hash: its totals to <see cref="Totals"/>, its models and days to theirs.</summary>
    public MonthFigures Add(HashEntry[] entries)
    {
        var counters = default(LedgerCounters);
        foreach (var entry in entries)
        {
            var name = entry.Name.ToString();
            if (name.StartsWith(LedgerKeys.DayPrefix, StringComparison.Ordinal))
            {
                var day = name[LedgerKeys.DayPrefix.Length..];
                Days[day] = Days.GetValueOrDefault(day) + (long)entry.Value;
            }
            else if (name.StartsWith(LedgerKeys.ModelPrefix, StringComparison.Ordinal))
            {
                var model = name[LedgerKeys.ModelPrefix.Length..];
                var c = LedgerCounters.FromPacked(LedgerKeys.ParseModelCounters(entry.Value.ToString()));
                Models[model] = Models.TryGetValue(model, out var sum) ? sum + c : c;
            }
            else if (!name.StartsWith(LedgerKeys.AlertPrefix, StringComparison.Ordinal))
            {
                counters = counters.With(name, (long)entry.Value);
            }
        }

        Totals += counters;
        return this;
    }
}
