using LlmCostTracker.Contracts;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LlmCostTracker.AppHost.Infrastructure;

/// <summary>The worker's dead letters as a health report the Aspire dashboard shows with the worker: how many
/// messages wait in a queue's <c>_error</c> queue (usage messages, alert webhook deliveries). Always healthy (a dead
/// letter is for an operator to replay, not a reason to hold back what waits for the worker); the count is in the
/// description and the data. Counted at most once an interval (<c>WorkerService:DeadLetterCountInterval</c>, 30 s), so
/// the orchestrator's frequent health polls do not each open a broker connection.</summary>
internal sealed class DeadLetterHealth(string queue, string what, string command)
{
    public const string Name = "workerservice-dead-letters";
    public const string WebhooksName = "workerservice-webhook-dead-letters";
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(30);
    private HealthCheckResult? _last;
    private DateTimeOffset _lastAt;
    private readonly SemaphoreSlim _gate = new(1, 1);

    public static DeadLetterHealth Usage { get; } = new(QueueNames.UsageAggregation, "usage messages", "Replay failed usage messages");

    public static DeadLetterHealth Webhooks { get; } = new(QueueNames.AlertWebhooks, "alert webhook deliveries", "Replay failed alert webhooks");

    public async Task<HealthCheckResult> CheckAsync(string connectionString, bool quorum, TimeSpan interval, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            if (_last is { } cached && DateTimeOffset.UtcNow - _lastAt < interval)
            {
                return cached;
            }

            try
            {
                var count = await DeadLetters.CountAsync(connectionString, queue, quorum, ct);
                _last = HealthCheckResult.Healthy(
                    count == 0 ? $"No failed {what}." : $"{count} failed {what} wait in {QueueNames.ErrorQueueOf(queue)}: replay them with the command \"{command}\".",
                    new Dictionary<string, object> { ["deadLettered"] = count });
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                _last = HealthCheckResult.Healthy($"Failed {what} not counted: the broker did not answer ({ex.GetType().Name}).");
            }

            _lastAt = DateTimeOffset.UtcNow;
            return _last.Value;
        }
        finally
        {
            _gate.Release();
        }
    }
}
