using System.ComponentModel.DataAnnotations;

namespace LlmCostTracker.Ledger;

/// <summary>Budget settings (section <c>Budgets</c>), read by the worker (alerts) and the API (reports, holds), with
/// the stored form of a budget's thresholds and the ledger's money (micro-dollars). The rule the admin API checks a
/// budget's own thresholds by is a contract (<see cref="Contracts.BudgetThresholds"/>).</summary>
public sealed class BudgetOptions
{
    public const string SectionName = "Budgets";

    /// <summary>The monthly budget of a user without an override, in USD.</summary>
    [Range(typeof(decimal), "0", "1000000000")]
    public decimal DefaultMonthlyBudgetUsd { get; set; } = 6.00m;

    /// <summary><see cref="DefaultMonthlyBudgetUsd"/> in micro-dollars, as the ledger stores budgets.</summary>
    public long DefaultMonthlyBudgetMicros => ToMicros(DefaultMonthlyBudgetUsd);

    /// <summary>Whether a user without their own setting has their budget enforced: budget holds
    /// (<c>POST /api/v1/budget-holds</c>) past it are refused with 402. Off by default: alerts only.</summary>
    public bool Enforce { get; set; }

    /// <summary>Percentages of the budget that publish an alert once per user and month when crossed. Empty in
    /// configuration means <see cref="DefaultThresholdsPercent"/> (an array initialiser here would be appended to
    /// by the configuration binder, not replaced).</summary>
    public int[] ThresholdsPercent { get; set; } = [];

    /// <summary><c>Budgets:Thresholds</c>, the name the admin API's <c>thresholds</c> follows: when set, it is used
    /// instead of <see cref="ThresholdsPercent"/> (the earlier name, still read).</summary>
    public int[] Thresholds { get; set; } = [];

    public static readonly int[] DefaultThresholdsPercent = [80, 100];

    /// <summary>Applies the default thresholds and puts them in order without repeats.</summary>
    public void Normalize() =>
        ThresholdsPercent = [.. (Thresholds.Length > 0 ? Thresholds : ThresholdsPercent.Length > 0 ? ThresholdsPercent : DefaultThresholdsPercent).Distinct().Order()];

    /// <summary>A budget's own thresholds as stored in Redis: ascending, comma-separated (<c>50,80,100</c>; empty: none).</summary>
    public static string ThresholdsText(IEnumerable<int> thresholds) =>
        string.Join(',', thresholds.Distinct().Order().Select(t => t.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    /// <summary>Reads <see cref="ThresholdsText"/>; null when nothing is stored.</summary>
    public static int[]? ParseThresholds(string? stored) => stored is null
        ? null
        : [.. stored.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(t => int.Parse(t, System.Globalization.CultureInfo.InvariantCulture))];

    public static long ToMicros(decimal usd) => (long)decimal.Round(usd * 1_000_000m, MidpointRounding.AwayFromZero);

    public static decimal ToUsd(long micros) => micros / 1_000_000m;
}
