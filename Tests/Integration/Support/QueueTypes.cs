using LlmCostTracker.Contracts;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace LlmCostTracker.Tests.Integration;

/// <summary>The queue type the usage and budget queues were declared with (<c>Messaging:QueueType</c>). RabbitMQ
/// accepts a redeclaration only with the same type, so a declaration tells which type the queue has.</summary>
public static class QueueTypes
{
    public static async Task<bool> DeclaresAsAsync(AppFixture app, string queue, string type)
    {
        await using var connection = await ConnectAsync(app);
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false,
                arguments: new Dictionary<string, object?> { ["x-queue-type"] = type });
            return true;
        }
        catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == 406)
        {
            return false;
        }
    }

    /// <summary>Whether the queue exists (a passive declare, which creates nothing).</summary>
    public static async Task<bool> ExistsAsync(AppFixture app, string queue)
    {
        await using var connection = await ConnectAsync(app);
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            await channel.QueueDeclarePassiveAsync(queue);
            return true;
        }
        catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == 404)
        {
            return false;
        }
    }

    /// <summary>Once the worker has declared the queue (its dead-letter monitor's first look), whether it has that
    /// type: checked after it exists, so the check's own declare cannot be what made it.</summary>
    public static async Task<bool> ErrorQueueDeclaresAsAsync(AppFixture app, string queue, string type)
    {
        await Eventually.ReturnsAsync(() => ExistsAsync(app, queue), exists => exists, because: $"the worker to declare {queue}");
        return await DeclaresAsAsync(app, queue, type);
    }

    /// <summary>Whether a message in the error queue holds an event of the user (browsed: fetched and requeued).</summary>
    public static async Task<bool> ErrorQueueHoldsAsync(AppFixture app, string user)
    {
        await using var connection = await ConnectAsync(app);
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            await channel.QueueDeclarePassiveAsync(QueueNames.ErrorQueueOf(QueueNames.UsageAggregation));
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
        {
            return false;
        }

        var found = false;
        var fetched = new List<ulong>();
        while (await channel.BasicGetAsync(QueueNames.ErrorQueueOf(QueueNames.UsageAggregation), autoAck: false) is { } message)
        {
            fetched.Add(message.DeliveryTag);
            found |= System.Text.Encoding.UTF8.GetString(message.Body.Span).Contains(user, StringComparison.Ordinal);
        }

        foreach (var tag in fetched)
        {
            await channel.BasicNackAsync(tag, multiple: false, requeue: true);
        }

        return found;
    }

    private static async Task<IConnection> ConnectAsync(AppFixture app) =>
        await new ConnectionFactory { Uri = new Uri((await app.App.GetConnectionStringAsync("rabbitmq"))!) }.CreateConnectionAsync();
}
