using System.ComponentModel.DataAnnotations;

namespace LlmCostTracker.CostTracking;

/// <summary>Section <c>CostTracking</c>.</summary>
public sealed class CostTrackingOptions
{
    public const string SectionName = "CostTracking";

    /// <summary>Events buffered in memory; beyond it new events are dropped (counted and logged).</summary>
    [Range(1, 10_000_000)]
    public int Capacity { get; set; } = 100_000;

    /// <summary>Most events sent at once.</summary>
    [Range(1, 1_000)]
    public int MaxBatchSize { get; set; } = 1_000;

    /// <summary>The first pause before sending again while the sink is unavailable; pauses double (with jitter)
    /// up to <see cref="MaxRetryDelay"/>, and sending is retried until it succeeds or the host stops.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Tags put on every event this service tracks (e.g. <c>environment</c>), below the ambient
    /// <see cref="CostTrackingContext.Tag"/> scopes and an event's own tags.</summary>
    public Dictionary<string, string> Tags { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The tag dimensions the ingestion API accepts (its <c>Attribution:Dimensions</c>); empty means its
    /// default, <c>environment</c>, <c>feature</c>, <c>team</c>. A tag of another dimension is left off the event
    /// (logged), since the API would refuse the event and its whole batch.</summary>
    public string[] Dimensions { get; set; } = [];

    /// <summary>The ingestion API's base address, for the HTTP sink (e.g. <c>http://apiservice</c> with service discovery).</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>The ingest key (<c>X-Api-Key</c>) for the HTTP sink.</summary>
    public string? ApiKey { get; set; }
}
