namespace LlmCostTracker.Contracts;

/// <summary>The admin API's rule for a budget's own alert thresholds (its <c>thresholds</c> field), checked by the API
/// and by the dashboard's form before sending.</summary>
public static class BudgetThresholds
{
    /// <summary>The most thresholds one budget may have.</summary>
    public const int Max = 10;

    /// <summary>At most <see cref="Max"/> different percentages, each from 1 to 1000 (none is valid).</summary>
    public static bool AreValid(IReadOnlyCollection<int> thresholds) =>
        thresholds.Count <= Max && thresholds.All(t => t is >= 1 and <= 1000) && thresholds.Distinct().Count() == thresholds.Count;
}
