using LlmCostTracker.Contracts;

namespace LlmCostTracker.ApiService.Ingestion;

public sealed record UsageBatchRequest(IReadOnlyList<UsageEventRequest?>? Events);

public sealed record UsageAccepted(string EventId);

public sealed record UsageBatchAccepted(int Accepted, IReadOnlyList<string> EventIds);
