using System.Collections.Concurrent;
using System.Diagnostics;
using LlmCostTracker.Contracts;
using LlmCostTracker.WorkerService.Budgets;
using LlmCostTracker.Pricing;
using LlmCostTracker.Ledger.Pricing;
using LlmCostTracker.WorkerService.Chunks;
using LlmCostTracker.WorkerService.Pricing;
using MassTransit;

namespace LlmCostTracker.WorkerService.Aggregation;

/// <summary>Prices usage, counts it into the ledger exactly once (through the <see cref="LedgerBatcher"/>, which
/// writes the events of all messages being consumed together), and publishes the thresholds it crossed.</summary>
public sealed class LlmUsageRecordedConsumer(
    PriceBookSource prices, LedgerBatcher ledger, BudgetAlerts alerts, UnknownModels unknownModels, WorkerMetrics metrics,
    ILogger<LlmUsageRecordedConsumer> logger)
    : IConsumer<LlmUsageRecorded>
{
    private const int MaxLoggedIds = 10_000;
    private static readonly ConcurrentDictionary<string, bool> UnknownModelsLogged = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<(string Model, string Tier), bool> UnpricedTiersLogged = new();

    public async Task Consume(ConsumeContext<LlmUsageRecorded> context)
    {
        var events = context.Message.Events;
        var priced = new List<PricedUsage>(events.Count);
        var families = new string[events.Count];
        long input = 0, output = 0, cost = 0;
        var book = prices.Current;
        for (var i = 0; i < events.Count; i++)
        {
            var usage = events[i];
            var quote = book.Quote(usage);
            if (quote.Entry is null)
            {
                metrics.UnknownModel();
                if (FirstSight(UnknownModelsLogged, usage.Model))
                {
                    logger.LogWarning("Unknown model {Model}: priced at the fallback price", usage.Model);
                }
            }
            else if (quote.TierUnpriced)
            {
                metrics.UnpricedTier(quote.Tier);
                if (FirstSight(UnpricedTiersLogged, (quote.Entry.Id, quote.Tier)))
                {
                    logger.LogWarning("Model {Model} has no {Tier} price: priced at standard", quote.Entry.Id, quote.Tier);
                }
            }

            var micros = PriceBook.CostMicros(quote.Rates, usage);
            priced.Add(new PricedUsage(usage, micros)
            {
                Provider = quote.Entry?.Provider ?? usage.Provider ?? "",
                ServiceTier = quote.Tier,
                ContextBand = quote.ContextBand,
            });
            families[i] = quote.KnownModel ?? WorkerMetrics.OtherModel;
            input += usage.InputTokens;
            output += usage.OutputTokens;
            cost += micros;
        }

        // Events coalesced from several requests keep their own traces: the aggregation span links to them.
        using var activity = WorkerMetrics.ActivitySource.StartActivity("aggregate llm usage");
        // The links are read only for a span that is recorded: under sampling most are not, and reading them parses
        // the events' traceparents. (No sampler here decides by links.)
        if (activity is { IsAllDataRequested: true } && TraceLinks.To(events) is { } links)
        {
            foreach (var link in links)
            {
                activity.AddLink(link);
            }
        }

        activity?.SetTag("llmcost.events", events.Count);
        activity?.SetTag("gen_ai.usage.input_tokens", input);
        activity?.SetTag("gen_ai.usage.output_tokens", output);
        activity?.SetTag("llmcost.cost_usd", cost / 1_000_000m);
        if (events.Count == 1)
        {
            activity?.SetTag("gen_ai.request.model", events[0].Model);
            activity?.SetTag("enduser.id", events[0].UserId);
        }

        var result = await ledger.ApplyAsync(priced, context.CancellationToken);
        metrics.Aggregated(result.Applied, result.Duplicates);
        activity?.SetTag("llmcost.events.deduplicated", result.Duplicates);
        // Token and cost metrics count each event once: the ones already counted (redelivered, re-posted) are skipped.
        for (var i = 0; i < priced.Count; i++)
        {
            if (!result.Duplicate[i])
            {
                metrics.Priced(families[i], priced[i].Usage, priced[i].CostMicros);
                if (ReferenceEquals(families[i], WorkerMetrics.OtherModel))
                {
                    unknownModels.Record(priced[i].Usage, priced[i].CostMicros);
                }
            }
        }

        // Each user's alerts go out in the order crossed (80% before 100%); different users' go out together, so a
        // message that crosses many users' thresholds (a month's first big batch) is not held alert by alert.
        await Task.WhenAll(result.Alerts.GroupBy(a => (a.UserId, a.Month)).Select(async userAlerts =>
        {
            foreach (var alert in userAlerts)
            {
                await alerts.PublishAsync(alert, alert.EventIndex is { } index ? events[index] : null, context, context.CancellationToken);
            }
        }));
    }

    /// <summary>True the first time a key is seen, up to a bound. ContainsKey first: ConcurrentDictionary.Count takes
    /// every lock, too dear for each event of an unknown model.</summary>
    private static bool FirstSight<TKey>(ConcurrentDictionary<TKey, bool> seen, TKey key)
        where TKey : notnull =>
        !seen.ContainsKey(key) && seen.Count < MaxLoggedIds && seen.TryAdd(key, true);
}
