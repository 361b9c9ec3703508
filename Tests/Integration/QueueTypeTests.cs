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

[Collection(FaultCollection.Name)]
public sealed class QuorumQueueTests(FaultAppFixture app)
{
    [Theory]
    [InlineData(QueueNames.UsageAggregation)]
    [InlineData(QueueNames.BudgetChanges)]
    public async Task With_quorum_configured_the_queues_are_quorum_queues(string queue) =>
        Assert.True(await QueueTypes.DeclaresAsAsync(app, queue, MessagingOptions.Quorum));
}

[Collection(AppCollection.Name)]
public sealed class ClassicQueueTests(AppFixture app)
{
    [Fact]
    public async Task By_default_the_usage_queue_is_not_a_quorum_queue() =>
        Assert.False(await QueueTypes.DeclaresAsAsync(app, QueueNames.UsageAggregation, MessagingOptions.Quorum));
}
