using System.Diagnostics.Metrics;

namespace LlmCostTracker.ApiService.Ingestion;

/// <summary>Ingestion counters on the <c>LlmCostTracker</c> meter (exported by ServiceDefaults).</summary>
public sealed class IngestMetrics
{
    public const string MeterName = "LlmCostTracker";
    private readonly Counter<long> _accepted;
    private readonly Counter<long> _rejected;

    public IngestMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _accepted = meter.CreateCounter<long>("llmcost.events.accepted", "{event}", "Usage events confirmed by the broker.");
        _rejected = meter.CreateCounter<long>("llmcost.events.rejected", "{event}", "Usage events refused by validation.");
    }

    public void Accepted(int count) => _accepted.Add(count);

    public void Rejected(int count) => _rejected.Add(count);
}
