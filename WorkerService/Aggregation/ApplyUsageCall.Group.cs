using LlmCostTracker.WorkerService.Chunks;

namespace LlmCostTracker.WorkerService.Aggregation;

public static partial class ApplyUsageCall
{
    /// <summary>One user's events of one model and day in a call, summed.</summary>
    private sealed class Group(string model, CalendarDay day)
    {
        public string Model { get; } = model;

        public CalendarDay Day { get; } = day;

        public long Cost { get; private set; }

        public long Input { get; private set; }

        public long Cached { get; private set; }

        public long Output { get; private set; }

        public long Requests { get; private set; }

        public long CacheWrite { get; private set; }

        public long Reasoning { get; private set; }

        public bool Holds(string model, CalendarDay day) => Day.Date == day.Date && string.Equals(Model, model, StringComparison.Ordinal);

        public void Add(PricedUsage e)
        {
            Cost += e.CostMicros;
            Input += e.Usage.InputTokens;
            Cached += e.Usage.CachedInputTokens;
            Output += e.Usage.OutputTokens;
            Requests++;
            CacheWrite += e.Usage.CacheWriteInputTokens;
            Reasoning += e.Usage.ReasoningOutputTokens;
        }
    }
}
