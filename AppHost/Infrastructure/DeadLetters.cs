using LlmCostTracker.Contracts;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace LlmCostTracker.AppHost.Infrastructure;

/// <summary>Messages that exhausted their retries wait in MassTransit's <c>&lt;queue&gt;_error</c> queue. Replaying moves
/// them back to their queue (body, content type and headers as they are), each acknowledged on the error queue only
/// once the broker confirmed its copy: a replay interrupted midway duplicates at most one message, and the ledger's
/// claims make a message replayed twice count once.</summary>
internal static class DeadLetters
{
    /// <summary>How many messages wait in the error queue. The queue is declared as the worker declares it when it
    /// starts (durable, of <c>Messaging:QueueType</c>, as MassTransit would with the first failed message): this count
    /// can run before the worker has, and a passive declare of a queue the broker does not have yet closes the
    /// channel and is logged by the broker as an error.</summary>
    public static async Task<uint> CountAsync(string connectionString, string queue, bool quorum, CancellationToken ct)
    {
        var factory = new ConnectionFactory { Uri = new Uri(connectionString) };
        await using var connection = await factory.CreateConnectionAsync(ct);
        await using (var declare = await connection.CreateChannelAsync(cancellationToken: ct))
        {
            try
            {
                var arguments = quorum ? new Dictionary<string, object?> { ["x-queue-type"] = "quorum" } : null;
                return (await declare.QueueDeclareAsync(QueueNames.ErrorQueueOf(queue), durable: true, exclusive: false, autoDelete: false, arguments: arguments, cancellationToken: ct)).MessageCount;
            }
            catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == 406)
            {
                // It exists with another type (made before Messaging:QueueType changed; the worker logs a warning).
            }
        }

        await using var probe = await connection.CreateChannelAsync(cancellationToken: ct);
        return (await probe.QueueDeclarePassiveAsync(QueueNames.ErrorQueueOf(queue), ct)).MessageCount;
    }

    /// <summary>Moves what the error queue holds when the replay starts (a message that fails again while the replay
    /// runs comes back to it, and waits for the next replay rather than looping); returns how many.</summary>
    public static async Task<int> ReplayAsync(string connectionString, string queue, CancellationToken ct)
    {
        var factory = new ConnectionFactory { Uri = new Uri(connectionString) };
        await using var connection = await factory.CreateConnectionAsync(ct);
        uint waiting;
        await using (var probe = await connection.CreateChannelAsync(cancellationToken: ct))
        {
            try
            {
                waiting = (await probe.QueueDeclarePassiveAsync(QueueNames.ErrorQueueOf(queue), ct)).MessageCount;
            }
            catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == 404)
            {
                // The worker has not declared the error queue yet, so no message has failed.
                return 0;
            }
        }

        await using var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), ct);
        var moved = 0;
        for (var i = 0; i < waiting; i++)
        {
            var message = await channel.BasicGetAsync(QueueNames.ErrorQueueOf(queue), autoAck: false, ct);
            if (message is null)
            {
                break;
            }

            // With confirmation tracking on, the publish returns once the broker has the copy.
            await channel.BasicPublishAsync(exchange: "", routingKey: queue, mandatory: true,
                basicProperties: new BasicProperties(message.BasicProperties), body: message.Body, ct);
            await channel.BasicAckAsync(message.DeliveryTag, multiple: false, ct);
            moved++;
        }

        return moved;
    }
}
