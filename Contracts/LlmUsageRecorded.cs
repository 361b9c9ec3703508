namespace LlmCostTracker.Contracts;

/// <summary>Usage accepted by the API. One message carries one or more events: the API coalesces concurrent
/// requests into one broker publish, and every event keeps its own idempotency key.</summary>
public sealed record LlmUsageRecorded
{
    public required IReadOnlyList<LlmUsage> Events { get; init; }
}
