namespace LlmCostTracker.Contracts;

/// <summary>A user's monthly spend crossed a budget threshold. Published once per user, month and threshold,
/// on the Redis channel <see cref="AlertChannels.ForUser"/> (as camelCase JSON) and as a MassTransit event.</summary>
public sealed record BudgetThresholdCrossed
{
    public required string UserId { get; init; }

    /// <summary>The month, as <c>yyyy-MM</c> (UTC unless configured otherwise).</summary>
    public required string Month { get; init; }

    public required int ThresholdPercent { get; init; }
    public required decimal SpentUsd { get; init; }
    public required decimal BudgetUsd { get; init; }
    public required DateTimeOffset OccurredAt { get; init; }

    /// <summary>W3C traceparent of the usage event whose cost crossed the threshold.</summary>
    public string? TraceParent { get; init; }
}
