using LlmCostTracker.Contracts;

namespace LlmCostTracker.ApiService.Ingestion;

/// <summary>How the ingestion endpoints read a <see cref="UsageEventRequest"/>: the same JSON fields, as settable
/// properties. The request is a positional record of sixteen values, which System.Text.Json reads through its
/// constructor path: an argument array and a box for each number, slower than settable properties (BENCHMARKS.md,
/// `RequestReadBenchmarks`). OpenAPI and clients keep the record; a test holds the two to one set of fields.</summary>
public sealed class UsageEventBody
{
    public string? EventId { get; set; }
    public string? UserId { get; set; }
    public string? Model { get; set; }
    public long? InputTokens { get; set; }
    public long? OutputTokens { get; set; }
    public long? CachedInputTokens { get; set; }
    public DateTimeOffset? OccurredAt { get; set; }
    public long? CacheWriteInputTokens { get; set; }
    public long? ReasoningOutputTokens { get; set; }
    public string? ServiceTier { get; set; }
    public string? Provider { get; set; }
    public string? HoldId { get; set; }
    public Dictionary<string, string?>? Tags { get; set; }
    public long? CacheWrite1hInputTokens { get; set; }
    public long? AudioInputTokens { get; set; }
    public long? AudioOutputTokens { get; set; }

    public UsageEventRequest ToRequest() => new(
        EventId, UserId, Model, InputTokens, OutputTokens, CachedInputTokens, OccurredAt, CacheWriteInputTokens, ReasoningOutputTokens,
        ServiceTier, Provider, HoldId, Tags, CacheWrite1hInputTokens, AudioInputTokens, AudioOutputTokens);
}

/// <summary>How the batch endpoint reads a <see cref="UsageBatchRequest"/> (see <see cref="UsageEventBody"/>).</summary>
public sealed class UsageBatchBody
{
    public List<UsageEventBody?>? Events { get; set; }
}
