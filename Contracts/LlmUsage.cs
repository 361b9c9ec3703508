namespace LlmCostTracker.Contracts;

/// <summary>One LLM call's token usage, as accepted by the API. Token fields follow the OpenTelemetry GenAI
/// conventions: <see cref="InputTokens"/> includes <see cref="CachedInputTokens"/>.</summary>
public sealed record LlmUsage
{
    public required string EventId { get; init; }
    public required string UserId { get; init; }
    public required string Model { get; init; }
    public required long InputTokens { get; init; }
    public required long CachedInputTokens { get; init; }
    public required long OutputTokens { get; init; }
    public required DateTimeOffset OccurredAt { get; init; }

    /// <summary>W3C traceparent of the request that reported this usage, so the worker can continue its trace.</summary>
    public string? TraceParent { get; init; }
}
