using System.ComponentModel.DataAnnotations;

namespace LlmCostTracker.WorkerService;

/// <summary>How the worker retries a message in memory before it goes to its <c>_error</c> queue (section
/// <c>Retry</c>). Delays grow from <see cref="MinDelay"/> by <see cref="DelayStep"/> a try (exponentially) up to
/// <see cref="MaxDelay"/>; the ledger's claims make every retry safe.</summary>
public sealed class RetryOptions
{
    public const string SectionName = "Retry";

    /// <summary>Tries of a usage message while Redis is unreachable (connection or timeout errors): worth waiting out,
    /// about 3 minutes with the default delays.</summary>
    [Range(0, 10_000)]
    public int RedisUnavailableRetries { get; set; } = 40;

    /// <summary>Tries of a usage message that failed for any other reason.</summary>
    [Range(0, 1_000)]
    public int OtherFailureRetries { get; set; } = 5;

    /// <summary>Tries of a budget change (re-evaluating a user's thresholds).</summary>
    [Range(0, 10_000)]
    public int BudgetChangeRetries { get; set; } = 20;

    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan MinDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan DelayStep { get; set; } = TimeSpan.FromMilliseconds(200);
}
