using System.Reflection;
using MassTransit;
using MassTransit.RabbitMqTransport;
using MassTransit.RabbitMqTransport.Configuration;
using RabbitMQ.Client.Exceptions;

namespace LlmCostTracker.Messaging;

public static class BrokerConnection
{
    /// <summary>Points the bus at the broker with the connect and handshake bounds of <paramref name="options"/>,
    /// and makes every receive endpoint retry its connection every <see cref="BrokerConnectionOptions.ReconnectInterval"/>.</summary>
    public static void UseBroker(this IRabbitMqBusFactoryConfigurator cfg, string connectionString, BrokerConnectionOptions options)
    {
        cfg.Host(new Uri(connectionString), host =>
        {
            // RabbitMQ.Client's connect takes no cancellation from MassTransit: a stop waits for a connect in flight,
            // so these bound how long that can be.
            host.RequestedConnectionTimeout(options.ConnectTimeout);
            host.ContinuationTimeout(options.ContinuationTimeout);
        });
        SetReconnectPolicy(cfg, ReconnectPolicy(options.ReconnectInterval));
    }

    /// <summary>MassTransit's own policy, but at a fixed interval. Its default backs off from 3 s to 30 s and never
    /// resets after a successful reconnect, so after a few broker restarts an endpoint could sit idle for 30 s after
    /// the broker returned, each endpoint on its own schedule.</summary>
    internal static IRetryPolicy ReconnectPolicy(TimeSpan interval) => Retry.CreatePolicy(x =>
    {
        x.Handle<ConnectionException>();
        x.Handle<AlreadyClosedException>();
        x.Handle<EndOfStreamException>();
        x.Handle<OperationInterruptedException>(exception => exception.ChannelShouldBeClosed());
        x.Handle<NotSupportedException>(exception => exception.Message.Contains("Pipelining of requests forbidden", StringComparison.Ordinal));
        x.Ignore<AuthenticationFailureException>();
        x.Interval(1000, interval);
    });

    /// <summary>MassTransit 8 has no setting for the receive transports' reconnect policy (it is a get-only property
    /// set in the host configuration's constructor, read when each endpoint starts), so it is replaced here, before
    /// the bus starts. MassTransit is pinned to 8.5.x (9 is commercial); if a version moves these fields this throws at
    /// start, and every test that starts the app fails, rather than the services silently keeping the old backoff.</summary>
    private static void SetReconnectPolicy(IRabbitMqBusFactoryConfigurator cfg, IRetryPolicy policy)
    {
        const BindingFlags Private = BindingFlags.Instance | BindingFlags.NonPublic;
        var host = cfg.GetType().GetField("_hostConfiguration", Private)?.GetValue(cfg) as RabbitMqHostConfiguration
            ?? throw new InvalidOperationException($"{cfg.GetType()} has no RabbitMQ host configuration where MassTransit 8.5 keeps it.");
        var field = typeof(RabbitMqHostConfiguration).GetField($"<{nameof(RabbitMqHostConfiguration.ReceiveTransportRetryPolicy)}>k__BackingField", Private)
            ?? throw new InvalidOperationException("RabbitMqHostConfiguration.ReceiveTransportRetryPolicy is no longer an auto-property: the reconnect interval cannot be set.");
        field.SetValue(host, policy);
    }
}
