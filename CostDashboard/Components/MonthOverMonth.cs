using System.Globalization;
using LlmCostTracker.Contracts;
using LlmCostTracker.Contracts.Reporting;

namespace LlmCostTracker.CostDashboard.Components;

/// <summary>A month's spend against the month before. For the month under way the same days are compared (the 1st
/// to today of each), so the fifth of a month is not set against a whole month; a past month is compared whole.
/// <see cref="ChangePercent"/> is null when the month before spent nothing.</summary>
public sealed record MonthOverMonth(string PreviousMonth, decimal PreviousUsd, decimal CurrentUsd, int? ThroughDay, decimal? ChangePercent)
{
    public static MonthOverMonth Of(CostReport current, CostReport previous, DateTimeOffset now)
    {
        int? throughDay = UsageMonth.Of(now).Key == current.Month ? now.UtcDateTime.Day : null;
        var previousUsd = throughDay is { } day
            ? previous.Daily.Where(d => int.Parse(d.Date.AsSpan(8, 2), CultureInfo.InvariantCulture) <= day).Sum(d => d.CostUsd)
            : previous.Totals.CostUsd;
        var change = previousUsd > 0 ? decimal.Round((current.Totals.CostUsd - previousUsd) * 100 / previousUsd, 1, MidpointRounding.AwayFromZero) : (decimal?)null;
        return new MonthOverMonth(previous.Month, previousUsd, current.Totals.CostUsd, throughDay, change);
    }

    /// <summary>The month before <paramref name="month"/> (<c>yyyy-MM</c>).</summary>
    public static string Before(string month) => UsageMonth.Parse(month).Start.AddMonths(-1).ToString("yyyy-MM", CultureInfo.InvariantCulture);

    /// <summary>"+50.0%", "−12.5%", "0.0%", or "–" without a month before to compare with.</summary>
    public string Change => ChangePercent switch
    {
        null => "–",
        > 0 => "+" + ChangePercent.Value.ToString("0.0", CultureInfo.InvariantCulture) + "%",
        < 0 => "−" + (-ChangePercent.Value).ToString("0.0", CultureInfo.InvariantCulture) + "%",
        _ => "0.0%",
    };

    /// <summary>What it is compared with: "vs $10.00 in October 2026" or "vs $4.00 in October 1–5".</summary>
    public string Against
    {
        get
        {
            var name = Money.MonthName(PreviousMonth);
            var when = ThroughDay is { } day ? $"{name[..name.IndexOf(' ', StringComparison.Ordinal)]} 1–{day}" : name;
            return PreviousUsd > 0 ? $"vs {Money.Usd(PreviousUsd)} in {when}" : $"no spend in {when}";
        }
    }
}
