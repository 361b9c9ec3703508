using LlmCostTracker.Contracts;

namespace LlmCostTracker.Ledger;

/// <summary>How long the ledger keeps a month in Redis. Months older than that are read from History.</summary>
public static class LedgerRetention
{
    /// <summary>Keys live until 35 days after the end of their month, so last month stays readable all this month.</summary>
    public static readonly TimeSpan AfterMonthEnd = TimeSpan.FromDays(35);

    extension(UsageMonth month)
    {
        /// <summary>When the month's keys expire.</summary>
        public DateTimeOffset ExpiresAt => month.Start.AddMonths(1) + AfterMonthEnd;
    }
}
