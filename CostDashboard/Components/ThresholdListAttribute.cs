using System.ComponentModel.DataAnnotations;
using System.Globalization;
using LlmCostTracker.Contracts;

namespace LlmCostTracker.CostDashboard.Components;

/// <summary>A budget's alert thresholds as typed in the form: percentages separated by commas or spaces, checked
/// before sending by the admin API's own rule (<see cref="BudgetThresholds.AreValid"/>). Empty is valid: no
/// threshold alerts for that budget.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ThresholdListAttribute : ValidationAttribute
{
    public ThresholdListAttribute()
        : base($"Enter up to {BudgetThresholds.Max} different whole percentages from 1 to 1000, separated by commas (e.g. 50, 80, 100); leave it empty for no alerts.")
    {
    }

    public override bool IsValid(object? value) => Parse(value as string) is { } thresholds && BudgetThresholds.AreValid(thresholds);

    /// <summary>The percentages typed, in order; empty for an empty field; null when a part is not a whole number.</summary>
    public static int[]? Parse(string? text)
    {
        var parts = (text ?? "").Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var thresholds = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i].TrimEnd('%'), NumberStyles.None, CultureInfo.InvariantCulture, out thresholds[i]))
            {
                return null;
            }
        }

        return thresholds;
    }
}
