using System.Globalization;

namespace LlmCostTracker.History;

/// <summary>A day as the history's texts write it (<c>yyyy-MM-dd</c>, UTC): rollup deltas, exports, the re-pricing
/// corrections.</summary>
internal static class HistoryDays
{
    public static string Format(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    public static DateOnly Parse(string day) => DateOnly.ParseExact(day, "yyyy-MM-dd", CultureInfo.InvariantCulture);
}
