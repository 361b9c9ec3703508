using System.Diagnostics.Metrics;

namespace LlmCostTracker.WorkerService;

/// <summary>Worker counters on the <c>LlmCostTracker</c> meter. Tagged by model or threshold, never by user.</summary>
public sealed class WorkerMetrics
{
    public const string MeterName = "LlmCostTracker";
    private readonly Counter<long> _aggregated;
    private readonly Counter<long> _deduplicated;
    private readonly Counter<long> _unknownModel;
    private readonly Counter<long> _alerts;

    public WorkerMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _aggregated = meter.CreateCounter<long>("llmcost.events.aggregated", "{event}", "Usage events counted into the ledger.");
        _deduplicated = meter.CreateCounter<long>("llmcost.events.deduplicated", "{event}", "Usage events already counted (redelivered or re-posted).");
        _unknownModel = meter.CreateCounter<long>("llmcost.events.unknown_model", "{event}", "Usage events priced at the fallback price.");
        _alerts = meter.CreateCounter<long>("llmcost.alerts.published", "{alert}", "Budget alerts published.");
    }

    public void Aggregated(int applied, int duplicates)
    {
        _aggregated.Add(applied);
        _deduplicated.Add(duplicates);
    }

    public void UnknownModel() => _unknownModel.Add(1);

    public void AlertPublished(int threshold) => _alerts.Add(1, new KeyValuePair<string, object?>("llmcost.threshold_percent", threshold));
}
