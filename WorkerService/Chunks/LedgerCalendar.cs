using LlmCostTracker.Contracts;
using LlmCostTracker.Ledger;

namespace LlmCostTracker.WorkerService.Chunks;

/// <summary>An event's UTC day: its month and its day's hash field (<c>day|yyyy-MM-dd</c>).</summary>
public sealed record CalendarDay(DateOnly Date, UsageMonth Month, string DayField);

/// <summary>Days of events, formatted once: the last one is kept, since a write is mostly one day (a benign race:
/// the record is immutable).</summary>
public static class LedgerCalendar
{
    private static CalendarDay? _lastDay;

    public static CalendarDay DayOf(DateTimeOffset at)
    {
        var date = DateOnly.FromDateTime(at.UtcDateTime);
        var last = _lastDay;
        if (last is null || last.Date != date)
        {
            _lastDay = last = new CalendarDay(date, new UsageMonth(date.Year, date.Month), LedgerKeys.DayField(date));
        }

        return last;
    }
}
