using System.Net;
using System.Net.Http.Json;
using LlmCostTracker.Contracts;

namespace LlmCostTracker.CostTracking;

/// <summary>Sends usage to the ingestion API's batch endpoint. 503, 5xx, 429 and transport failures are worth a
/// retry (event ids make it safe); any other 4xx is not.</summary>
public sealed class HttpUsageSink(HttpClient http) : IUsageSink
{
    public const string BatchPath = "api/v1/llm-usage/batch";

    public async Task SendAsync(IReadOnlyList<LlmUsage> events, CancellationToken ct)
    {
        using var response = await http.PostAsJsonAsync(BatchPath, new { events }, ct);
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var problem = await response.Content.ReadAsStringAsync(ct);
        if ((int)response.StatusCode >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests)
        {
            throw new UsageSinkUnavailableException($"Ingestion answered {(int)response.StatusCode}: {problem}");
        }

        throw new UsageRejectedException($"Ingestion answered {(int)response.StatusCode}: {problem}");
    }
}
