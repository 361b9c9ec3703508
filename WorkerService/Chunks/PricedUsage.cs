using LlmCostTracker.Contracts;

namespace LlmCostTracker.WorkerService.Chunks;

/// <summary>A priced usage event, with what priced it as the daily rollups keep it: the price list's provider (the
/// event's own when the model was unknown; empty when neither), the normalised service tier, and the long-context
/// band's threshold in input tokens (0: the model's base prices).</summary>
public sealed record PricedUsage(LlmUsage Usage, long CostMicros)
{
    public string Provider { get; init; } = Usage.Provider ?? "";

    public string ServiceTier { get; init; } = Usage.ServiceTier ?? ServiceTiers.Standard;

    public long ContextBand { get; init; }
}
