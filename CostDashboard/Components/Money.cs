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

    /// <summary>This month and the <paramref name="count"/> − 1 before it, newest first. Redis keeps two (the one
    /// before for 35 days after its end); the user and tag reports read older months from the history database.</summary>
    public static string[] Months(DateTimeOffset now, int count = 2) => [.. Enumerable.Range(0, count).Select(i => UsageMonth.Of(now.AddMonths(-i)).Key)];

    /// <summary>The budget state a user's row is marked with.</summary>
    public static string BudgetState(decimal? usedPercent) => usedPercent switch
    {
        >= 100 => "over-budget",
        >= 80 => "near-budget",
        _ => "",
    };
}
