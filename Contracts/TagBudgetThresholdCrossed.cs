namespace LlmCostTracker.Contracts;

/// <summary>A tag value's monthly spend (e.g. team <c>search</c>) crossed a budget threshold. Published once per
/// dimension, value, month and threshold, on the Redis channel <see cref="AlertChannels.ForTag"/> (as camelCase JSON)
/// and as a MassTransit event.</summary>
public sealed record TagBudgetThresholdCrossed
{
    public required string Dimension { get; init; }
    public required string Value { get; init; }

    /// <summary>The month, as <c>yyyy-MM</c>.</summary>
    public required string Month { get; init; }

    public required int ThresholdPercent { get; init; }

    /// <summary>The value's spend when the crossing was seen (after the fold that crossed it).</summary>
    public required decimal SpentUsd { get; init; }

    public required decimal BudgetUsd { get; init; }
    public required DateTimeOffset OccurredAt { get; init; }
}
