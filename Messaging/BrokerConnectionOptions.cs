using System.ComponentModel.DataAnnotations;

namespace LlmCostTracker.Messaging;

/// <summary>How a service holds its broker connection (section <c>Messaging</c>, beside <c>QueueType</c>). Each bound
/// is what a stop may have to wait for when it lands in the middle of a connect, so all of them stay well under
/// <c>Shutdown:Timeout</c>; MassTransit's defaults (10 s to connect, 20 s for the handshake, reconnects backing off to
/// 30 s) made a worker that was reconnecting miss its stop bound and left endpoints idle long after the broker
/// returned.</summary>
public sealed class BrokerConnectionOptions
{
    public const string SectionName = "Messaging";

    /// <summary><c>Messaging:ConnectTimeout</c>: the longest a TCP connect to the broker may take.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary><c>Messaging:ContinuationTimeout</c>: the longest the AMQP handshake and each broker RPC (declare,
    /// bind, qos) may take.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan ContinuationTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary><c>Messaging:ReconnectInterval</c>: how long a receive endpoint waits between attempts to reconnect,
    /// however long the broker was away. An endpoint consumes again within this plus one connect after the broker
    /// returns.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan ReconnectInterval { get; set; } = TimeSpan.FromSeconds(1);
}
