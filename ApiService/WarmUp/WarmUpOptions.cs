using System.ComponentModel.DataAnnotations;

namespace LlmCostTracker.ApiService.WarmUp;

/// <summary><c>WarmUp</c>: the ingestion requests the API sends itself after it starts and before it reports ready
/// (<see cref="StartupWarmUp"/>).</summary>
public sealed class WarmUpOptions
{
    public const string SectionName = "WarmUp";

    /// <summary>Off: the API is ready as soon as its dependencies are, and its first traffic runs unoptimised code.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Requests in all: single events, batches of ten and one-span OTLP exports, in the proportions 8:1:1.
    /// Enough for the hot path to reach its final tier: BENCHMARKS.md has the first 15 s with and without.</summary>
    [Range(1, 1_000_000)]
    public int Requests { get; set; } = 10_000;

    /// <summary>Requests in flight at once: concurrency brings in the code paths that only contention runs.</summary>
    [Range(1, 256)]
    public int Concurrency { get; set; } = 16;

    /// <summary>How long the warm-up may hold readiness back; past it the API reports ready, warm or not.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);
}
