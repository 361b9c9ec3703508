using System.Globalization;

namespace LlmCostTracker.Contracts;

/// <summary>A calendar month (UTC), as ledger keys and the <c>month=YYYY-MM</c> query parameter name it. The one
/// place month maths lives, for the worker (writes, expiry) and the API (reports) alike.</summary>
public readonly record struct LedgerMonth(int Year, int Month)
{
    /// <summary>Keys live until 35 days after the end of their month, so last month stays readable all this month.</summary>
    public static readonly TimeSpan RetentionAfterMonthEnd = TimeSpan.FromDays(35);

    public string Key => $"{Year:D4}-{Month:D2}";

    public DateTimeOffset Start => new(Year, Month, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>When the month's keys expire.</summary>
    public DateTimeOffset ExpiresAt => Start.AddMonths(1) + RetentionAfterMonthEnd;

    public static LedgerMonth Of(DateTimeOffset at) => new(at.UtcDateTime.Year, at.UtcDateTime.Month);

    public static LedgerMonth Parse(string value) =>
        TryParse(value, out var month) ? month : throw new FormatException($"'{value}' is not a month (YYYY-MM).");

    public static bool TryParse(string? value, out LedgerMonth month)
    {
        month = default;
        if (value is not { Length: 7 } || value[4] != '-'
            || !int.TryParse(value.AsSpan(0, 4), NumberStyles.None, CultureInfo.InvariantCulture, out var year)
            || !int.TryParse(value.AsSpan(5, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            || year < 2000 || number is < 1 or > 12)
        {
            return false;
        }

        month = new LedgerMonth(year, number);
        return true;
    }
}
