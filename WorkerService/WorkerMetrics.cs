using System.Diagnostics;
using System.Diagnostics.Metrics;
using LlmCostTracker.Contracts;

namespace LlmCostTracker.WorkerService;

/// <summary>Worker telemetry on the <c>LlmCostTracker</c> meter and activity source. Tagged by model family or
/// threshold, never by user or raw model id: no unbounded cardinality.</summary>
public sealed class WorkerMetrics
{
    public const string MeterName = "LlmCostTracker";
    public static readonly ActivitySource ActivitySource = new(MeterName);

    /// <summary>The model tag for ids that resolve to no known model.</summary>
    public const string OtherModel = "other";

    private readonly Counter<long> _aggregated;
    private readonly Counter<long> _deduplicated;
    private readonly Counter<long> _unknownModel;
    private readonly Counter<long> _unpricedTier;
    private readonly Counter<long> _alerts;
    private readonly Histogram<long> _tokenUsage;
    private readonly Counter<double> _cost;

    public WorkerMetrics(IMeterFactory meterFactory, DeadLetterMonitor deadLetters)
    {
        var meter = meterFactory.Create(MeterName);
        meter.CreateObservableGauge("llmcost.messages.dead_lettered", () => deadLetters.Count, "{message}",
            "Usage messages in llm-usage-aggregation_error: retries exhausted, waiting for a replay.");
        _aggregated = meter.CreateCounter<long>("llmcost.events.aggregated", "{event}", "Usage events counted into the ledger.");
        _deduplicated = meter.CreateCounter<long>("llmcost.events.deduplicated", "{event}", "Usage events already counted (redelivered or re-posted).");
        _unknownModel = meter.CreateCounter<long>("llmcost.events.unknown_model", "{event}", "Usage events priced at the fallback price.");
        _unpricedTier = meter.CreateCounter<long>("llmcost.events.unpriced_tier", "{event}", "Usage events of a service tier their model has no price for, priced at standard.");
        _alerts = meter.CreateCounter<long>("llmcost.alerts.published", "{alert}", "Budget alerts published.");
        _tokenUsage = meter.CreateHistogram<long>("gen_ai.client.token.usage", "{token}", "Tokens used per LLM call (OpenTelemetry GenAI).",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864] });
        // Telemetry only: the ledger keeps exact integer micro-dollars; a metric export is a double anyway.
        _cost = meter.CreateCounter<double>("llmcost.cost", "USD", "Cost of usage counted into the ledger, by model family.");
    }

    public void Aggregated(int applied, int duplicates)
    {
        _aggregated.Add(applied);
        _deduplicated.Add(duplicates);
    }

    /// <summary>Records an event's tokens by <c>gen_ai.token.type</c>: <c>input</c> and <c>output</c> (all of them, as
    /// the GenAI conventions count), and the parts billed apart when there are any: <c>cache_read</c>,
    /// <c>cache_creation</c> (of the input) and <c>reasoning</c> (of the output).</summary>
    public void Priced(string modelFamily, LlmUsage usage, long costMicros)
    {
        var model = new KeyValuePair<string, object?>("gen_ai.request.model", modelFamily);
        _tokenUsage.Record(usage.InputTokens, model, new KeyValuePair<string, object?>("gen_ai.token.type", "input"));
        _tokenUsage.Record(usage.OutputTokens, model, new KeyValuePair<string, object?>("gen_ai.token.type", "output"));
        if (usage.CachedInputTokens > 0)
        {
            _tokenUsage.Record(usage.CachedInputTokens, model, new KeyValuePair<string, object?>("gen_ai.token.type", "cache_read"));
        }

        if (usage.CacheWriteInputTokens > 0)
        {
            _tokenUsage.Record(usage.CacheWriteInputTokens, model, new KeyValuePair<string, object?>("gen_ai.token.type", "cache_creation"));
        }

        if (usage.ReasoningOutputTokens > 0)
        {
            _tokenUsage.Record(usage.ReasoningOutputTokens, model, new KeyValuePair<string, object?>("gen_ai.token.type", "reasoning"));
        }

        _cost.Add(costMicros / 1_000_000d, model);
    }

    public void UnknownModel() => _unknownModel.Add(1);

    /// <summary>An event asked for a service tier its model has no price for, and was priced at standard.</summary>
    public void UnpricedTier(string tier) => _unpricedTier.Add(1, new KeyValuePair<string, object?>("llmcost.service_tier", tier));

    public void AlertPublished(int threshold) => _alerts.Add(1, new KeyValuePair<string, object?>("llmcost.threshold_percent", threshold));
}
