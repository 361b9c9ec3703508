using LlmCostTracker.Contracts;

namespace LlmCostTracker.CostTracking;

/// <summary>Where a <see cref="UsageTracker"/> sends validated usage: the broker (inside the API) or the ingestion
/// API over HTTP (anywhere else). Throws <see cref="UsageSinkUnavailableException"/> for a failure worth retrying
/// and <see cref="UsageRejectedException"/> for one that is not.</summary>
public interface IUsageSink
{
    Task SendAsync(IReadOnlyList<LlmUsage> events, CancellationToken ct);
}

public sealed class UsageSinkUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

public sealed class UsageRejectedException(string message) : Exception(message);
