using System.Globalization;
using LlmCostTracker.Contracts.Reporting;

namespace LlmCostTracker.CostDashboard.Components;

/// <summary>A month's daily spend as chart columns, one per day of the month: each day so far at what it cost, and
/// for the current month the days left at the projected run rate (the month-end projection spread over them), so
/// spent and projected stack in one column per day under a date label.</summary>
public static class DailyChart
{
    /// <summary>One day's column: <paramref name="Label"/> is its date ("Dec 4").</summary>
    public sealed record Day(string Label, decimal Spent, decimal Projected);

    public static List<Day> For(string month, IReadOnlyList<DailyCost> daily, decimal spentUsd, decimal projectedMonthEndUsd, DateTimeOffset now)
    {
        var first = DateTime.ParseExact(month, "yyyy-MM", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
        var days = DateTime.DaysInMonth(first.Year, first.Month);
        var byDay = daily.ToDictionary(d => DateTime.ParseExact(d.Date, "yyyy-MM-dd", CultureInfo.InvariantCulture).Day, d => d.CostUsd);
        var current = now.UtcDateTime.Year == first.Year && now.UtcDateTime.Month == first.Month;
        var lastSpentDay = current ? now.UtcDateTime.Day : days;
        var perDay = current && days > lastSpentDay && projectedMonthEndUsd > spentUsd
            ? decimal.Round((projectedMonthEndUsd - spentUsd) / (days - lastSpentDay), 6)
            : 0m;
        return [.. Enumerable.Range(1, days).Select(d => new Day(
            first.AddDays(d - 1).ToString("MMM d", CultureInfo.InvariantCulture),
            d <= lastSpentDay ? byDay.GetValueOrDefault(d) : 0m,
            d > lastSpentDay ? perDay : 0m))];
    }
}
