using System.Diagnostics.Metrics;

namespace LlmCostTracker.ApiService.Ingestion;

/// <summary>Ingestion counters on the <c>LlmCostTracker</c> meter (exported by ServiceDefaults).</summary>
public sealed class IngestMetrics
{
    public const string MeterName = "LlmCostTracker";
    private readonly Counter<long> _accepted;
    private readonly Counter<long> _rejected;
    private readonly Histogram<double> _publishDuration;
    private readonly Counter<long> _holds;

    public IngestMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _accepted = meter.CreateCounter<long>("llmcost.events.accepted", "{event}", "Usage events confirmed by the broker.");
        _rejected = meter.CreateCounter<long>("llmcost.events.rejected", "{event}", "Usage events refused by validation.");
        _publishDuration = meter.CreateHistogram<double>("llmcost.broker.publish.duration", "s",
            "Time from publishing a message of usage events to the broker's confirm: what every ingestion request waits for.");
        _holds = meter.CreateCounter<long>("llmcost.holds", "{hold}", "Budget hold requests by outcome (granted, existing, refused, conflict, invalid, unavailable).");
    }

    public void Accepted(int count) => _accepted.Add(count);

    public void Rejected(int count) => _rejected.Add(count);

    // A hold's outcome label: the script's reply word (BudgetHoldCall.Granted, Existing, Refused) or one of these,
    // decided before or around the script.
    public const string HoldInvalid = "invalid";
    public const string HoldUnavailable = "unavailable";
    public const string HoldConflict = "conflict";

    public void Hold(string outcome) => _holds.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void Published(TimeSpan duration) => _publishDuration.Record(duration.TotalSeconds);
}
