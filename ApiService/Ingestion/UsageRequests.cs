namespace LlmCostTracker.ApiService.Ingestion;

/// <summary>A usage event as a client sends it. Every field is nullable so that a missing one is reported by
/// name instead of failing deserialization.</summary>
public sealed record UsageEventRequest(
    string? EventId,
    string? UserId,
    string? Model,
    long? InputTokens,
    long? OutputTokens,
    long? CachedInputTokens,
    DateTimeOffset? OccurredAt);

public sealed record UsageBatchRequest(IReadOnlyList<UsageEventRequest?>? Events);

public sealed record UsageAccepted(string EventId);

public sealed record UsageBatchAccepted(int Accepted, IReadOnlyList<string> EventIds);
