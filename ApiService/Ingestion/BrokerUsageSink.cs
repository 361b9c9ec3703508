using LlmCostTracker.Contracts;
using LlmCostTracker.CostTracking;

namespace LlmCostTracker.ApiService.Ingestion;

/// <summary>The API's own tracker publishes straight to the broker, through the same confirmed path as HTTP.</summary>
public sealed class BrokerUsageSink(UsagePublisher publisher) : IUsageSink
{
    public async Task SendAsync(IReadOnlyList<LlmUsage> events, CancellationToken ct)
    {
        try
        {
            await publisher.PublishAsync(events, ct);
        }
        catch (BrokerUnavailableException ex)
        {
            throw new UsageSinkUnavailableException(ex.Message, ex);
        }
    }
}
