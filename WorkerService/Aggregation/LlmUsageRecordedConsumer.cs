using System.Collections.Concurrent;
using LlmCostTracker.Contracts;
using LlmCostTracker.WorkerService.Budgets;
using LlmCostTracker.WorkerService.Pricing;
using MassTransit;

namespace LlmCostTracker.WorkerService.Aggregation;

/// <summary>Prices usage, counts it into the ledger exactly once, and publishes the thresholds it crossed.</summary>
public sealed class LlmUsageRecordedConsumer(
    UsagePricing pricing, CostLedger ledger, BudgetAlerts alerts, WorkerMetrics metrics, ILogger<LlmUsageRecordedConsumer> logger)
    : IConsumer<LlmUsageRecorded>
{
    private static readonly ConcurrentDictionary<string, bool> UnknownModelsLogged = new(StringComparer.Ordinal);

    public async Task Consume(ConsumeContext<LlmUsageRecorded> context)
    {
        var events = context.Message.Events;
        var priced = new List<PricedUsage>(events.Count);
        foreach (var usage in events)
        {
            var resolution = pricing.Resolve(usage.Model);
            if (resolution.KnownModel is null)
            {
                metrics.UnknownModel();
                if (UnknownModelsLogged.Count < 10_000 && UnknownModelsLogged.TryAdd(usage.Model, true))
                {
                    logger.LogWarning("Unknown model {Model}: priced at the fallback price", usage.Model);
                }
            }

            priced.Add(new PricedUsage(usage, UsagePricing.CostMicros(resolution.Price, usage.InputTokens, usage.CachedInputTokens, usage.OutputTokens)));
        }

        var result = await ledger.ApplyAsync(priced);
        metrics.Aggregated(result.Applied, result.Duplicates);
        logger.LogDebug("Message {MessageId}: {Applied} applied, {Duplicates} duplicates, {Alerts} alerts",
            context.MessageId, result.Applied, result.Duplicates, result.Alerts.Count);
        foreach (var alert in result.Alerts)
        {
            await alerts.PublishAsync(alert, context, context.CancellationToken);
        }
    }
}
