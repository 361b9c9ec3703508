using System.Globalization;
using LlmCostTracker.Contracts;

namespace LlmCostTracker.CostDashboard.Components;

/// <summary>How amounts and times read on the pages (USD, UTC: the ledger's months are UTC months).</summary>
public static class Money
{
    private static readonly CultureInfo Us = CultureInfo.GetCultureInfo("en-US");

    /// <summary>Dollars and cents, or the micro-dollars that matter for an amount under a cent.</summary>
    public static string Usd(decimal value) =>
        value == 0 || Math.Abs(value) >= 0.01m ? value.ToString("$#,##0.00", Us) : value.ToString("$0.000###", Us);

    public static string Usd(decimal? value) => value is { } v ? Usd(v) : "–";

    public static string Percent(decimal? value) => value is { } v ? v.ToString("0.##", Us) + "%" : "–";

    public static string Count(long value) => value.ToString("N0", Us);

    public static string When(DateTimeOffset? value) => value is { } v ? v.UtcDateTime.ToString("MMM d, HH:mm 'UTC'", Us) : "–";

    public static string MonthName(string month) =>
        DateTime.ParseExact(month, "yyyy-MM", CultureInfo.InvariantCulture).ToString("MMMM yyyy", Us);

    /// <summary>The months the ledger can show: this one and the one before (kept 35 days after its end).</summary>
    public static string[] Months(DateTimeOffset now) => [LedgerMonth.Of(now).Key, LedgerMonth.Of(now.AddMonths(-1)).Key];

    /// <summary>The budget state a user's row is marked with.</summary>
    public static string BudgetState(decimal? usedPercent) => usedPercent switch
    {
        >= 100 => "over-budget",
        >= 80 => "near-budget",
        _ => "",
    };
}
