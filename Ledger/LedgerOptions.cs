using System.ComponentModel.DataAnnotations;

namespace LlmCostTracker.Ledger;

/// <summary>The ledger's layout in Redis (section <c>Ledger</c>), read by the worker (writes) and the API (reads);
/// the AppHost hands both the same values.</summary>
public sealed class LedgerOptions
{
    public const string SectionName = "Ledger";

    /// <summary>How many buckets (Redis Cluster hash tags) users are spread over. Stored in Redis on first start; a
    /// service configured with another count refuses to start.</summary>
    [Range(1, LedgerKeys.MaxBuckets)]
    public int Buckets { get; set; } = LedgerKeys.DefaultBuckets;

    /// <summary>How long an event counted is remembered, from its arrival: re-posted or redelivered within it, it
    /// counts once; after it (and at most a quarter of it more), it counts again (<see cref="ClaimWindow"/>).</summary>
    [Range(typeof(TimeSpan), "01:00:00", "35.00:00:00")]
    public TimeSpan DedupWindow { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How long a starting service keeps trying to reach Redis to check the stored layout.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan StartupCheckTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The pause between two attempts of that check.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:10")]
    public TimeSpan StartupCheckRetryDelay { get; set; } = TimeSpan.FromMilliseconds(250);
}
