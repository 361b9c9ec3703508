using System.ComponentModel.DataAnnotations;

namespace LlmCostTracker.History;

/// <summary>Settings of the history store (section <c>History</c>, shared by the API and the worker).</summary>
public sealed class HistoryOptions
{
    public const string SectionName = "History";

    /// <summary>The connection name of the history database (Aspire: <c>ConnectionStrings__history</c>). Without that
    /// connection string history is off: nothing is rolled up, reports read Redis only.</summary>
    public const string ConnectionName = "history";

    /// <summary>How long daily rows are kept; older days are deleted by the writer. Default 400 days: a year and the
    /// month before it, for year-over-year.</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "36500.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(400);

    /// <summary>How often the writer folds the ledger's rollup streams into PostgreSQL when it has caught up. Rows
    /// appear within about this long of the usage.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The most stream entries (ledger calls) summed into one transaction.</summary>
    [Range(1, 100_000)]
    public int BatchEntries { get; set; } = 500;

    /// <summary>How long the writer waits before trying again after PostgreSQL or Redis failed.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Past this rollup lag (the age of the oldest usage not yet in PostgreSQL) the worker's <c>history</c>
    /// health check reports Degraded, so /health answers 503 (never Unhealthy: ingestion does not depend on it).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan LagDegradedAfter { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long a re-price waits for every worker to price with the current prices and for the rollups to
    /// catch up with the ledger before it answers 503 (nothing changed).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan RepriceCatchUpTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often a waiting re-price looks again.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:10")]
    public TimeSpan RepricePollInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How many users (largest changes first) and skipped days a re-price's answer lists; the audit record
    /// keeps every user.</summary>
    [Range(1, 10_000)]
    public int RepriceUsersListed { get; set; } = 100;

    /// <summary>The most corrections in one Redis script call of a re-price (a call blocks its shard while it runs).</summary>
    [Range(1, 100_000)]
    public int RepriceCorrectionsPerCall { get; set; } = 1_000;
}
