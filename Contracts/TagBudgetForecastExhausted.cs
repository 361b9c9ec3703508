namespace LlmCostTracker.Contracts;

/// <summary>A tag value's recent burn rate (e.g. team <c>search</c>) projects its monthly budget to run out before the
/// month ends: <see cref="BudgetForecastExhausted"/> for a tag value with a budget. Published once per dimension, value
/// and month as a MassTransit event (and so to the webhooks that want <c>budget.forecast_exhausted</c>, with a
/// <c>tag</c> subject). Not on the Redis channel <see cref="AlertChannels.ForTag"/>, whose messages keep the shape of
/// <see cref="TagBudgetThresholdCrossed"/>.</summary>
public sealed record TagBudgetForecastExhausted
{
    public required string Dimension { get; init; }
    public required string Value { get; init; }

    /// <summary>The month, as <c>yyyy-MM</c> (UTC).</summary>
    public required string Month { get; init; }

    public required decimal SpentUsd { get; init; }
    public required decimal BudgetUsd { get; init; }

    /// <summary>When the budget runs out at <see cref="DailyRateUsd"/>.</summary>
    public required DateTimeOffset ProjectedExhaustedAt { get; init; }

    /// <summary>The spend per day over the forecast window.</summary>
    public required decimal DailyRateUsd { get; init; }

    /// <summary>How many days before the month's end the budget runs out.</summary>
    public required double DaysEarly { get; init; }

    /// <summary>When the forecast was made.</summary>
    public required DateTimeOffset OccurredAt { get; init; }

    /// <summary>W3C traceparent of the worker's <c>publish budget forecast</c> span, so the deliveries join its trace.</summary>
    public string? TraceParent { get; init; }
}
