namespace LlmCostTracker.Contracts;

/// <summary>An admin set or reset a user's budget. The worker re-evaluates that user's thresholds for the month:
/// those now above the spend are re-armed, those now crossed and not yet fired are published once.</summary>
public sealed record UserBudgetChanged
{
    public required string UserId { get; init; }

    /// <summary>The month to re-evaluate, as <c>yyyy-MM</c>.</summary>
    public required string Month { get; init; }
}
