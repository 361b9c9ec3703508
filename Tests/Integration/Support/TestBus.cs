using Aspire.Hosting;
using MassTransit;

namespace LlmCostTracker.Tests.Integration;

/// <summary>A bus of the test's own on the app's RabbitMQ, for publishing messages no API would send (redeliveries,
/// hand-made batches, poison messages). Stopped when disposed.</summary>
public sealed class TestBus : IAsyncDisposable
{
    private readonly IBusControl _bus;

    private TestBus(IBusControl bus) => _bus = bus;

    public static async Task<TestBus> StartAsync(DistributedApplication app)
    {
        var broker = new Uri((await app.GetConnectionStringAsync("rabbitmq"))!);
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg => cfg.Host(broker));
        await bus.StartAsync(new CancellationTokenSource(AppFixture.DefaultTimeout).Token);
        return new TestBus(bus);
    }

    public Task Publish<T>(T message) where T : class => _bus.Publish(message);

    /// <summary>Publishes with a message id of the test's, to find what the app reports about that message.</summary>
    public Task Publish<T>(T message, Guid messageId) where T : class => _bus.Publish(message, context => context.MessageId = messageId);

    public async ValueTask DisposeAsync() => await _bus.StopAsync();
}
