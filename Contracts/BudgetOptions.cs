using System.ComponentModel.DataAnnotations;

namespace LlmCostTracker.Contracts;

/// <summary>Budget settings (section <c>Budgets</c>), read by the worker (alerts) and the API (reports).</summary>
public sealed class BudgetOptions
{
    public const string SectionName = "Budgets";

    /// <summary>The monthly budget of a user without an override, in USD.</summary>
    [Range(typeof(decimal), "0", "1000000000")]
    public decimal DefaultMonthlyBudgetUsd { get; set; } = 6.00m;

    /// <summary>Whether a user without their own setting has their budget enforced: budget holds
    /// (<c>POST /api/v1/budget-holds</c>) past it are refused with 402. Off by default: alerts only.</summary>
    public bool Enforce { get; set; }

    /// <summary>Percentages of the budget that publish an alert once per user and month when crossed. Empty in
    /// configuration means <see cref="DefaultThresholdsPercent"/> (an array initialiser here would be appended to
    /// by the configuration binder, not replaced).</summary>
    public int[] ThresholdsPercent { get; set; } = [];

    public static readonly int[] DefaultThresholdsPercent = [80, 100];

    /// <summary>Applies the default thresholds and puts them in order without repeats.</summary>
    public void Normalize() =>
        ThresholdsPercent = [.. (ThresholdsPercent.Length == 0 ? DefaultThresholdsPercent : ThresholdsPercent).Distinct().Order()];

    public static long ToMicros(decimal usd) => (long)decimal.Round(usd * 1_000_000m, MidpointRounding.AwayFromZero);

    public static decimal ToUsd(long micros) => micros / 1_000_000m;
}
