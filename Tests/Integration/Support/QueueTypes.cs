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
        var factory = new ConnectionFactory { Uri = new Uri((await app.App.GetConnectionStringAsync("rabbitmq"))!) };
        await using var connection = await factory.CreateConnectionAsync();
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
}
