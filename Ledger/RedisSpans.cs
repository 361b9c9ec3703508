using System.Diagnostics;

namespace LlmCostTracker.Ledger;

/// <summary>Client spans for Redis steps, one per group of calls sent together, on the <c>LlmCostTracker</c> activity
/// source. Both services turn off the per-command Redis instrumentation (<c>DisableTracing</c>): it keeps every
/// command of a trace, and the request's activity with it, in memory until its next flush (every 10 s, not
/// configurable through Aspire's client), so under load each garbage collection copies all of them, a pause the
/// requests of that moment wait for; and the flush then makes one span per command.</summary>
public static class RedisSpans
{
    private static readonly ActivitySource Source = new("LlmCostTracker");

    /// <summary>A span named <paramref name="operation"/> (the command, or the commands in the order sent) over
    /// <paramref name="calls"/> commands.</summary>
    public static Activity? Start(string operation, int calls = 1)
    {
        var activity = Source.StartActivity(operation, ActivityKind.Client);
        if (activity is null)
        {
            return null;
        }

        activity.SetTag("db.system.name", "redis");
        activity.SetTag("db.operation.name", operation);
        if (calls > 1)
        {
            activity.SetTag("db.operation.batch.size", calls);
        }

        return activity;
    }
}
