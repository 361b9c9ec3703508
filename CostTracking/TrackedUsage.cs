namespace LlmCostTracker.CostTracking;

/// <summary>Usage as code reports it (the original design's <c>track_llm_cost</c>). <see cref="InputTokens"/>
/// includes <see cref="CachedInputTokens"/>.</summary>
public sealed record TrackedUsage(
    string UserId,
    string Model,
    long InputTokens,
    long OutputTokens,
    long CachedInputTokens = 0,
    string? EventId = null,
    DateTimeOffset? OccurredAt = null);
