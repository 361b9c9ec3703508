using System.Globalization;
using LlmCostTracker.ApiService.Budgets;
using LlmCostTracker.Contracts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace LlmCostTracker.ApiService.Apis;

/// <summary>The admin routes' shared parameters (month, top, user id, tag dimension and value, an amount), each
/// problem added under its field's name for one ValidationProblem.</summary>
internal static class AdminParameters
{
    public const int DefaultTop = 100;
    public const int MaxTop = 1_000;
    public const long MaxBudgetBodyBytes = 4 * 1024;

    internal static ProblemHttpResult? UnknownDimension(string dimension, AttributionOptions attribution) =>
        Array.IndexOf(attribution.Dimensions, dimension) >= 0
            ? null
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown tag dimension",
                detail: $"'{(TagValidator.IsDimensionName(dimension) ? dimension : "(not a dimension name)")}' is not configured; the dimensions are {string.Join(", ", attribution.Dimensions)} (Attribution:Dimensions).");

    internal static void CheckTagValue(string value, Dictionary<string, string[]> errors, bool allowOther)
    {
        if (!TagValidator.IsValue(value) && !(allowOther && value == TagValidator.OtherValue))
        {
            errors["value"] = [$"value must be 1 to {TagValidator.MaxValueLength} characters from letters, digits and ._-@+:"];
        }
    }

    internal static int ParseTop(string? top, Dictionary<string, string[]> errors)
    {
        var count = DefaultTop;
        if (top is not null && (!int.TryParse(top, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count is < 1 or > MaxTop))
        {
            errors["top"] = [$"top must be an integer from 1 to {MaxTop:N0}."];
        }

        return count;
    }

    internal static void CheckAmount(decimal? amount, Dictionary<string, string[]> errors)
    {
        if (amount is null || amount < 0 || amount > BudgetStore.MaxBudgetUsd || decimal.Round(amount.Value, 6) != amount)
        {
            errors["monthlyBudgetUsd"] = ["monthlyBudgetUsd must be a number of USD from 0 to 1,000,000,000 with at most 6 decimals (0 turns alerts off)."];
        }
    }

    /// <summary>A budget's own thresholds: null (unchanged) or up to <see cref="BudgetThresholds.Max"/>
    /// distinct percentages from 1 to 1,000 (empty: no threshold alerts).</summary>
    internal static void CheckThresholds(int[]? thresholds, Dictionary<string, string[]> errors)
    {
        if (thresholds is not null && !BudgetThresholds.AreValid(thresholds))
        {
            errors["thresholds"] = [$"thresholds must be at most {BudgetThresholds.Max} different percentages of the budget, each from 1 to 1000 (e.g. [50, 80, 100]); [] turns threshold alerts off."];
        }
    }

    internal static UsageMonth ParseMonth(string? month, TimeProvider clock, Dictionary<string, string[]> errors)
    {
        if (month is null)
        {
            return UsageMonth.Of(clock.GetUtcNow());
        }

        if (!UsageMonth.TryParse(month, out var parsed))
        {
            errors["month"] = ["month must be a month as YYYY-MM (e.g. 2026-11)."];
        }

        return parsed;
    }

    internal static void CheckUserId(string userId, Dictionary<string, string[]> errors)
    {
        if (!UsageValidator.IsUserId(userId))
        {
            errors["userId"] = ["userId must be 1 to 128 characters from letters, digits and ._-@+:()"];
        }
    }

    internal static DateOnly ParseDay(string? value, string field, Dictionary<string, string[]> errors)
    {
        if (DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            return day;
        }

        errors[field] = [$"{field} must be a day as YYYY-MM-DD (e.g. 2026-11-01)."];
        return default;
    }
}
