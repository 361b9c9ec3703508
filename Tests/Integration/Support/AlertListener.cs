using System.Collections.Concurrent;
using System.Text.Json;
using LlmCostTracker.Contracts;
using StackExchange.Redis;

namespace LlmCostTracker.Tests.Integration;

/// <summary>Subscribes to one alert channel for the length of a test: a user's, <c>alerts:cost:{userId}</c>, or a
/// tag value's, <c>alerts:cost:{dimension}={value}</c>.</summary>
public static class AlertListener
{
    public static Task<AlertListener<BudgetThresholdCrossed>> StartAsync(IConnectionMultiplexer redis, string userId) =>
        AlertListener<BudgetThresholdCrossed>.StartAsync(redis, AlertChannels.ForUser(userId));

    public static Task<AlertListener<TagBudgetThresholdCrossed>> StartAsync(IConnectionMultiplexer redis, string dimension, string value) =>
        AlertListener<TagBudgetThresholdCrossed>.StartAsync(redis, AlertChannels.ForTag(dimension, value));
}

/// <summary>The alerts (camelCase JSON) received on one channel.</summary>
public sealed class AlertListener<T> : IAsyncDisposable
{
    private readonly ISubscriber _subscriber;
    private readonly RedisChannel _channel;

    private AlertListener(ISubscriber subscriber, RedisChannel channel)
    {
        _subscriber = subscriber;
        _channel = channel;
    }

    public ConcurrentQueue<T> Received { get; } = new();

    public static async Task<AlertListener<T>> StartAsync(IConnectionMultiplexer redis, string channel)
    {
        var listener = new AlertListener<T>(redis.GetSubscriber(), RedisChannel.Literal(channel));
        await listener._subscriber.SubscribeAsync(listener._channel, (_, message) =>
            listener.Received.Enqueue(JsonSerializer.Deserialize<T>(message.ToString(), JsonSerializerOptions.Web)!));
        return listener;
    }

    public Task WaitForAsync(int count) =>
        Eventually.ReturnsAsync(() => Task.FromResult(Received.Count), c => c >= count, because: $"{count} alerts");

    public async ValueTask DisposeAsync() => await _subscriber.UnsubscribeAsync(_channel);
}
