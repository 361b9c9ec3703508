using System.ComponentModel.DataAnnotations;

namespace LlmCostTracker.WorkerService.Budgets;

/// <summary>The burn-rate forecast (section <c>Budgets:Forecast</c>): every <see cref="Interval"/> the worker projects
/// each user's month from the spend of the last <see cref="Window"/>, and warns once per user and month when the budget
/// runs out before the month ends.</summary>
public sealed class ForecastOptions
{
    public const string SectionName = "Budgets:Forecast";

    public bool Enabled { get; set; } = true;

    /// <summary>How often the month's users are projected.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The burn rate is the spend of the days in this window (whole UTC days, today's so far included) over
    /// the time they span.</summary>
    [Range(typeof(TimeSpan), "01:00:00", "31.00:00:00")]
    public TimeSpan Window { get; set; } = TimeSpan.FromDays(7);

    /// <summary>No forecast from fewer events in the month: one large request is not a rate.</summary>
    [Range(1, 1_000_000)]
    public int MinEvents { get; set; } = 10;

    /// <summary>No forecast before the user's spend spans this long (from the start of their first day with spend): a
    /// spike in the first hours of a month is not a rate either.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "31.00:00:00")]
    public TimeSpan MinHistory { get; set; } = TimeSpan.FromHours(24);
}
