using System.Globalization;
using LlmCostTracker.Contracts.Reporting;

namespace LlmCostTracker.CostDashboard.Components;

/// <summary>A month's daily spend as chart points: each day so far at what it cost, and for the current month the
/// days left at the projected run rate (the month-end projection spread over them).</summary>
public static class DailyChart
{
    public sealed record Point(double Day, decimal Usd);

    public static (List<Point> Spent, List<Point> Projected) For(string month, IReadOnlyList<DailyCost> daily, decimal spentUsd, decimal projectedMonthEndUsd, DateTimeOffset now)
    {
        var first = DateTime.ParseExact(month, "yyyy-MM", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
        var days = DateTime.DaysInMonth(first.Year, first.Month);
        var byDay = daily.ToDictionary(d => DateTime.ParseExact(d.Date, "yyyy-MM-dd", CultureInfo.InvariantCulture).Day, d => d.CostUsd);
        var current = now.UtcDateTime.Year == first.Year && now.UtcDateTime.Month == first.Month;
        var lastSpentDay = current ? now.UtcDateTime.Day : days;
        var spent = Enumerable.Range(1, lastSpentDay).Select(d => new Point(d, byDay.GetValueOrDefault(d))).ToList();
        var projected = new List<Point>();
        if (current && days > lastSpentDay && projectedMonthEndUsd > spentUsd)
        {
            var perDay = decimal.Round((projectedMonthEndUsd - spentUsd) / (days - lastSpentDay), 6);
            projected.AddRange(Enumerable.Range(lastSpentDay + 1, days - lastSpentDay).Select(d => new Point(d, perDay)));
        }

        return (spent, projected);
    }
}
