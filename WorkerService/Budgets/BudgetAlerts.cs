using System.Diagnostics;
using System.Text.Json;
using LlmCostTracker.Contracts;
using LlmCostTracker.Ledger;
using MassTransit;
using StackExchange.Redis;

namespace LlmCostTracker.WorkerService.Budgets;

/// <summary>Publishes a crossed threshold on Redis pub/sub (<c>alerts:cost:{userId}</c>) and as a MassTransit
/// event, then marks it sent. <paramref name="crossing"/> in <see cref="PublishAsync"/> is the event that crossed the
/// threshold, when one did: the alert takes its time and trace.</summary>
public sealed class BudgetAlerts(IConnectionMultiplexer redis, AlertStates states, WorkerMetrics metrics, TimeProvider clock, ILogger<BudgetAlerts> logger)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public async Task PublishAsync(CrossedThreshold crossed, LlmUsage? crossing, IPublishEndpoint bus, CancellationToken ct)
    {
        var alert = new BudgetThresholdCrossed
        {
            UserId = crossed.UserId,
            Month = crossed.Month,
            ThresholdPercent = crossed.ThresholdPercent,
            SpentUsd = BudgetOptions.ToUsd(crossed.SpentMicros),
            BudgetUsd = BudgetOptions.ToUsd(crossed.BudgetMicros),
            OccurredAt = crossing?.OccurredAt ?? crossed.CrossedAt ?? clock.GetUtcNow(),
            TraceParent = crossing?.TraceParent,
        };

        // The alert belongs to the trace of the event that crossed the threshold, even inside a coalesced message.
        using var activity = ActivityContext.TryParse(alert.TraceParent, null, out var parent)
            ? WorkerMetrics.ActivitySource.StartActivity("publish budget alert", ActivityKind.Producer, parent)
            : WorkerMetrics.ActivitySource.StartActivity("publish budget alert", ActivityKind.Producer);
        activity?.SetTag("llmcost.threshold_percent", alert.ThresholdPercent);
        activity?.SetTag("enduser.id", alert.UserId);

        using (RedisSpans.Start("PUBLISH", 1))
        {
            await redis.GetSubscriber().PublishAsync(
                RedisChannel.Literal(AlertChannels.ForUser(alert.UserId)), JsonSerializer.Serialize(alert, Json));
        }

        await bus.Publish(alert, ct);
        await states.MarkSentAsync(crossed);
        metrics.AlertPublished(alert.ThresholdPercent);
        logger.LogInformation("Budget alert: {UserId} crossed {Threshold}% of {BudgetUsd} USD in {Month} (spent {SpentUsd} USD)",
            alert.UserId, alert.ThresholdPercent, alert.BudgetUsd, alert.Month, alert.SpentUsd);
    }
}
