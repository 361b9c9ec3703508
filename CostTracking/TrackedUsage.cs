namespace LlmCostTracker.CostTracking;

/// <summary>Usage as code reports it (the original design's <c>track_llm_cost</c>). <see cref="InputTokens"/>
/// includes <see cref="CachedInputTokens"/> and <see cref="CacheWriteInputTokens"/>; <see cref="OutputTokens"/>
/// includes <see cref="ReasoningOutputTokens"/>. <see cref="ServiceTier"/>: standard (null), batch, flex or priority.
/// <see cref="HoldId"/>: the budget hold the call was made under, settled when this usage is counted.
/// <see cref="Tags"/>: dimension → value (e.g. team, feature), winning over the ambient and configured tags.</summary>
public sealed record TrackedUsage(
    string UserId,
    string Model,
    long InputTokens,
    long OutputTokens,
    long CachedInputTokens = 0,
    string? EventId = null,
    DateTimeOffset? OccurredAt = null,
    long CacheWriteInputTokens = 0,
    long ReasoningOutputTokens = 0,
    string? ServiceTier = null,
    string? Provider = null,
    string? HoldId = null,
    IReadOnlyDictionary<string, string>? Tags = null);
