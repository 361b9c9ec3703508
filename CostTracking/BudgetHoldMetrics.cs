namespace LlmCostTracker.CostTracking;

/// <summary>The middleware's budget hold outcomes (<c>llmcost.tracker.holds</c>: granted, refused, failed_open,
/// failed_closed) on the tracker's meter.</summary>
public sealed class BudgetHoldMetrics
{
    private readonly System.Diagnostics.Metrics.Counter<long> _holds;

    public BudgetHoldMetrics(System.Diagnostics.Metrics.IMeterFactory meters)
    {
        _holds = meters.Create(new System.Diagnostics.Metrics.MeterOptions(UsageTracker.MeterName)).CreateCounter<long>("llmcost.tracker.holds", "{hold}",
            "Budget holds the chat client middleware asked for, by outcome.");
    }

    public void Hold(string outcome) => _holds.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
}
