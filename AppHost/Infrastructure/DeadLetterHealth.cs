using LlmCostTracker.Contracts;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LlmCostTracker.AppHost.Infrastructure;

/// <summary>The worker's dead letters as a health report the Aspire dashboard shows with the worker: how many usage
/// messages wait in <c>llm-usage-aggregation_error</c>. Always healthy (a dead letter is for an operator to replay,
/// not a reason to hold back what waits for the worker); the count is in the description and the data. Counted at
/// most once an interval (<c>WorkerService:DeadLetterCountInterval</c>, 30 s), so the orchestrator's frequent health
/// polls do not each open a broker connection.</summary>
internal static class DeadLetterHealth
{
    public const string Name = "workerservice-dead-letters";
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(30);
    private static HealthCheckResult? _last;
    private static DateTimeOffset _lastAt;
    private static readonly SemaphoreSlim Gate = new(1, 1);

    public static async Task<HealthCheckResult> CheckAsync(string connectionString, TimeSpan interval, CancellationToken ct)
    {
        await Gate.WaitAsync(ct);
        try
        {
            if (_last is { } cached && DateTimeOffset.UtcNow - _lastAt < interval)
            {
                return cached;
            }

            try
            {
                var count = await DeadLetters.CountAsync(connectionString, QueueNames.UsageAggregation, ct);
                _last = HealthCheckResult.Healthy(
                    count == 0 ? "No failed usage messages." : $"{count} failed usage messages wait in {DeadLetters.ErrorQueueOf(QueueNames.UsageAggregation)}: replay them with the command \"Replay failed usage messages\".",
                    new Dictionary<string, object> { ["deadLettered"] = count });
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                _last = HealthCheckResult.Healthy($"Failed usage messages not counted: the broker did not answer ({ex.GetType().Name}).");
            }

            _lastAt = DateTimeOffset.UtcNow;
            return _last.Value;
        }
        finally
        {
            Gate.Release();
        }
    }
}
