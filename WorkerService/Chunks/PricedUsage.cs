using LlmCostTracker.Contracts;

namespace LlmCostTracker.WorkerService.Chunks;

/// <summary>A priced usage event.</summary>
public sealed record PricedUsage(LlmUsage Usage, long CostMicros);
