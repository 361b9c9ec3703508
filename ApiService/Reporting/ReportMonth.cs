using System.Globalization;

namespace LlmCostTracker.ApiService.Reporting;

/// <summary>A calendar month (UTC), as the <c>month=YYYY-MM</c> query parameter names it.</summary>
public readonly record struct ReportMonth(int Year, int Month)
{
    public string Key => $"{Year:D4}-{Month:D2}";

    public static ReportMonth Of(DateTimeOffset at) => new(at.UtcDateTime.Year, at.UtcDateTime.Month);

    public static bool TryParse(string? value, out ReportMonth month)
    {
        month = default;
        if (value is not { Length: 7 } || value[4] != '-'
            || !int.TryParse(value.AsSpan(0, 4), NumberStyles.None, CultureInfo.InvariantCulture, out var year)
            || !int.TryParse(value.AsSpan(5, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            || year < 2000 || number is < 1 or > 12)
        {
            return false;
        }

        month = new ReportMonth(year, number);
        return true;
    }
}
