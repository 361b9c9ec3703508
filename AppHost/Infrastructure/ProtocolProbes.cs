using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LlmCostTracker.AppHost.Infrastructure;

/// <summary>Health checks that speak each server's protocol. Aspire's proxy accepts TCP before the server
/// listens, so a bare connect would report healthy too early.</summary>
internal static class ProtocolProbes
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    // Without AUTH a password-protected Redis answers -NOAUTH: that is still Redis, ready for commands.
    public static Task<HealthCheckResult> RedisAsync(EndpointReference endpoint, CancellationToken ct) =>
        ProbeAsync(endpoint, "*1\r\n$4\r\nPING\r\n"u8.ToArray(), reply =>
        {
            var text = Encoding.ASCII.GetString(reply);
            return text.StartsWith("+PONG", StringComparison.Ordinal) || text.StartsWith("-NOAUTH", StringComparison.Ordinal);
        }, ct);

    // An AMQP 0-9-1 server answers the protocol header with a Connection.Start method frame (type 1).
    public static Task<HealthCheckResult> AmqpAsync(EndpointReference endpoint, CancellationToken ct) =>
        ProbeAsync(endpoint, "AMQP\0\0\u0009\u0001"u8.ToArray(), reply => reply[0] == 1, ct);

    private static async Task<HealthCheckResult> ProbeAsync(
        EndpointReference endpoint, byte[] request, Func<byte[], bool> isExpected, CancellationToken ct)
    {
        if (!endpoint.IsAllocated)
        {
            return HealthCheckResult.Unhealthy("Endpoint not allocated yet.");
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Timeout);
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(endpoint.Host, endpoint.Port, timeout.Token);
            var stream = client.GetStream();
            await stream.WriteAsync(request, timeout.Token);
            var buffer = new byte[64];
            var read = await stream.ReadAsync(buffer, timeout.Token);
            return read > 0 && isExpected(buffer[..read])
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy("Unexpected reply.");
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy(ex.Message);
        }
    }
}
