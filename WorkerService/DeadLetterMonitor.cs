using LlmCostTracker.Contracts;
using LlmCostTracker.WorkerService.Aggregation;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace LlmCostTracker.WorkerService;

/// <summary>How many usage messages wait in <c>llm-usage-aggregation_error</c> (retries exhausted), looked up every
/// <see cref="AggregationOptions.DeadLetterPollInterval"/> with a passive declare, for the
/// <c>llmcost.messages.dead_lettered</c> gauge and a warning when the number grows. The AppHost's "Replay failed
/// usage messages" command on this resource moves them back.</summary>
public sealed class DeadLetterMonitor(IConfiguration configuration, IOptions<AggregationOptions> options, TimeProvider clock, ILogger<DeadLetterMonitor> logger)
    : BackgroundService
{
    private static readonly string ErrorQueue = $"{QueueNames.UsageAggregation}_error";
    private long _count;

    public long Count => Interlocked.Read(ref _count);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var factory = new ConnectionFactory { Uri = new Uri(configuration.GetConnectionString("rabbitmq")!) };
        using var timer = new PeriodicTimer(options.Value.DeadLetterPollInterval, clock);
        try
        {
            do
            {
                try
                {
                    await using var connection = await factory.CreateConnectionAsync(stoppingToken);
                    await using var channel = await connection.CreateChannelAsync(cancellationToken: stoppingToken);
                    var count = (long)(await channel.QueueDeclarePassiveAsync(ErrorQueue, stoppingToken)).MessageCount;
                    if (Interlocked.Exchange(ref _count, count) < count)
                    {
                        logger.LogWarning("{Count} usage messages wait in {Queue} after exhausting their retries; replay them with the worker's \"Replay failed usage messages\" command", count, ErrorQueue);
                    }
                }
                catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == 404)
                {
                    Interlocked.Exchange(ref _count, 0);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    // The broker is away or slow (unreachable, closed, timed out...): the last count stands until the
                    // next look. Any exception: one let out of this background service would stop the worker.
                    logger.LogDebug(ex, "Could not count {Queue}", ErrorQueue);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
