using System.ComponentModel.DataAnnotations;

namespace LlmCostTracker.ApiService.Ingestion;

public sealed class IngestOptions
{
    public const string SectionName = "Ingest";

    /// <summary>How long a request waits for the broker's confirm before answering 503.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long, once the service is told to stop, requests may still wait for the broker's confirm before
    /// answering 503: inside the service's stop bound (<c>Shutdown:Timeout</c>), long enough for a broker that is up.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:30")]
    public TimeSpan StopGrace { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Most events coalesced into one broker message.</summary>
    [Range(1, 10_000)]
    public int MaxEventsPerMessage { get; set; } = 1_000;

    /// <summary>Broker publishes in flight at once; concurrent requests share them.</summary>
    [Range(1, 64)]
    public int PublishConcurrency { get; set; } = 8;

    /// <summary>Requests waiting for a publish slot before new ones get 503.</summary>
    [Range(16, 1_000_000)]
    public int QueueCapacity { get; set; } = 20_000;
}
