using System.Collections.Concurrent;
using System.Text.Json;
using LlmCostTracker.Contracts;
using StackExchange.Redis;

namespace LlmCostTracker.Tests.Integration;

/// <summary>Subscribes to one user's alert channel, <c>alerts:cost:{userId}</c>, for the length of a test.</summary>
public sealed class AlertListener : IAsyncDisposable
{
    private readonly ISubscriber _subscriber;
    private readonly RedisChannel _channel;

    private AlertListener(ISubscriber subscriber, RedisChannel channel)
    {
        _subscriber = subscriber;
        _channel = channel;
    }

    public ConcurrentQueue<BudgetThresholdCrossed> Received { get; } = new();

    public static async Task<AlertListener> StartAsync(IConnectionMultiplexer redis, string userId)
    {
        var listener = new AlertListener(redis.GetSubscriber(), RedisChannel.Literal(AlertChannels.ForUser(userId)));
        await listener._subscriber.SubscribeAsync(listener._channel, (_, message) =>
            listener.Received.Enqueue(JsonSerializer.Deserialize<BudgetThresholdCrossed>(message.ToString(), JsonSerializerOptions.Web)!));
        return listener;
    }

    public Task WaitForAsync(int count) =>
        Eventually.ReturnsAsync(() => Task.FromResult(Received.Count), c => c >= count, because: $"{count} alerts");

    public async ValueTask DisposeAsync() => await _subscriber.UnsubscribeAsync(_channel);
}
