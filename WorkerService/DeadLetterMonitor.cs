using LlmCostTracker.Contracts;
using LlmCostTracker.Messaging;
using LlmCostTracker.WorkerService.Aggregation;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace LlmCostTracker.WorkerService;

/// <summary>How many usage messages wait in <c>llm-usage-aggregation_error</c> (retries exhausted), looked up every
/// <see cref="AggregationOptions.DeadLetterPollInterval"/> with a passive declare, for the
/// <c>llmcost.messages.dead_lettered</c> gauge and a warning when the number grows. The AppHost's "Replay failed
/// usage messages" command on this resource moves them back.
/// <para>The worker's error queues (usage messages, alert webhook deliveries) are declared here first, empty, as
/// MassTransit declares them with the first failed message: durable, with the receive queue's arguments (its
/// <c>RabbitMqErrorSettings</c> copies them), so the queue type of <c>Messaging:QueueType</c>. A passive declare of a
/// queue that does not exist yet closes the channel, and the broker logged each one, every poll of this monitor and
/// of the AppHost's dead-letter health checks, as an error. The AppHost's count declares them the same way
/// (<c>DeadLetters.CountAsync</c>), as it may run before this does.</para></summary>
public sealed class DeadLetterMonitor(
    IConfiguration configuration, IOptions<AggregationOptions> options, IOptions<MessagingOptions> messaging, TimeProvider clock, ILogger<DeadLetterMonitor> logger)
    : BackgroundService
{
    private static readonly string ErrorQueue = QueueNames.ErrorQueueOf(QueueNames.UsageAggregation);
    private static readonly string[] ErrorQueues = [ErrorQueue, QueueNames.ErrorQueueOf(QueueNames.AlertWebhooks)];
    private long _count;
    private bool _declared;

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
                    if (!_declared)
                    {
                        await DeclareErrorQueuesAsync(connection, stoppingToken);
                    }

                    await using var channel = await connection.CreateChannelAsync(cancellationToken: stoppingToken);
                    var count = (long)(await channel.QueueDeclarePassiveAsync(ErrorQueue, stoppingToken)).MessageCount;
                    if (Interlocked.Exchange(ref _count, count) < count)
                    {
                        logger.LogWarning("{Count} usage messages wait in {Queue} after exhausting their retries; replay them with the worker's \"Replay failed usage messages\" command", count, ErrorQueue);
                    }
                }
                catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == 404)
                {
                    // Deleted since (by an operator): declared again at the next look.
                    _declared = false;
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

    private async Task DeclareErrorQueuesAsync(IConnection connection, CancellationToken ct)
    {
        var arguments = messaging.Value.IsQuorum ? new Dictionary<string, object?> { ["x-queue-type"] = MessagingOptions.Quorum } : null;
        foreach (var queue in ErrorQueues)
        {
            // A channel each: a refused declare closes its channel.
            await using var channel = await connection.CreateChannelAsync(cancellationToken: ct);
            try
            {
                await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, arguments: arguments, cancellationToken: ct);
            }
            catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == 406)
            {
                // Made before Messaging:QueueType changed: MassTransit's own declare is refused the same way, so failed
                // messages cannot be moved into it.
                logger.LogWarning("{Queue} exists with other arguments than Messaging:QueueType gives ({Reason}); failed messages cannot be moved into it until it is deleted",
                    queue, ex.ShutdownReason.ReplyText);
            }
        }

        _declared = true;
    }
}
