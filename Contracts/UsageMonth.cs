using System.Globalization;

namespace LlmCostTracker.Contracts;

/// <summary>A calendar month (UTC) as the API names it: the <c>month=YYYY-MM</c> query parameter, a report's
/// <c>month</c>, the month of a usage's <c>occurredAt</c>. The one place month maths lives, for the worker (writes),
/// the API (reports) and the dashboard (its month picker) alike; how long the ledger keeps a month is the ledger's
/// (<c>LedgerRetention</c>).</summary>
public readonly record struct UsageMonth(int Year, int Month)
{
    public string Key => $"{Year:D4}-{Month:D2}";

    public DateTimeOffset Start => new(Year, Month, 1, 0, 0, 0, TimeSpan.Zero);

    public static UsageMonth Of(DateTimeOffset at) => new(at.UtcDateTime.Year, at.UtcDateTime.Month);

    public static UsageMonth Parse(string value) =>
        TryParse(value, out var month) ? month : throw new FormatException($"'{value}' is not a month (YYYY-MM).");

    public static bool TryParse(string? value, out UsageMonth month)
    {
        month = default;
        if (value is not { Length: 7 } || value[4] != '-'
            || !int.TryParse(value.AsSpan(0, 4), NumberStyles.None, CultureInfo.InvariantCulture, out var year)
            || !int.TryParse(value.AsSpan(5, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            || year < 2000 || number is < 1 or > 12)
        {
            return false;
        }

        month = new UsageMonth(year, number);
        return true;
    }
}
