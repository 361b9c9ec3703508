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
    public static Activity? Start(string operation, int calls = 1) => Start(operation, calls, default);

    /// <summary>As <see cref="Start(string, int)"/>, begun at <paramref name="startTime"/>: for a probe that is traced
    /// only once it has found work (see <see cref="StartWork"/>).</summary>
    public static Activity? Start(string operation, int calls, DateTimeOffset startTime)
    {
        var activity = Source.StartActivity(operation, ActivityKind.Client, parentContext: default, startTime: startTime);
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

    /// <summary>The span of one unit of background work (a fold that moved data...), begun at
    /// <paramref name="startTime"/>: a background loop starts it only once its probe found work, so an idle loop makes
    /// no trace, and a busy one makes one trace per unit with its Redis steps as children.</summary>
    public static Activity? StartWork(string name, DateTimeOffset startTime) =>
        Source.StartActivity(name, ActivityKind.Internal, parentContext: default, startTime: startTime);
}
