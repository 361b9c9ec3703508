using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LlmCostTracker.AppHost.Infrastructure;

/// <summary>The health of a local Redis Cluster, and its creation. The check runs from the moment the first node
/// starts until the cluster is up, which is exactly when creation is due: once every node answers and none has a
/// slot or a peer, it runs <c>redis-cli --cluster create</c> (once at a time). After that each node keeps its
/// cluster state in its nodes.conf, so a restarted node rejoins without it. Healthy when every node reports
/// <c>cluster_state:ok</c>.</summary>
internal sealed class RedisClusterBootstrap(IReadOnlyList<EndpointReference> nodes, ParameterResource password)
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan CreateTimeout = TimeSpan.FromSeconds(60);
    private int _creating;

    public async Task<HealthCheckResult> CheckAsync(CancellationToken ct)
    {
        if (nodes.Any(n => !n.IsAllocated))
        {
            return HealthCheckResult.Unhealthy("Endpoints not allocated yet.");
        }

        var secret = (await password.GetValueAsync(ct))!;
        var infos = new List<Dictionary<string, string>>();
        foreach (var node in nodes)
        {
            var info = await ClusterInfoAsync(node, secret, ct);
            if (info is null)
            {
                return HealthCheckResult.Unhealthy($"Node {node.Port} does not answer yet.");
            }

            infos.Add(info);
        }

        if (infos.All(i => i.GetValueOrDefault("cluster_state") == "ok"))
        {
            return HealthCheckResult.Healthy($"cluster_state:ok on {nodes.Count} masters");
        }

        if (infos.All(i => i.GetValueOrDefault("cluster_slots_assigned") == "0" && i.GetValueOrDefault("cluster_known_nodes") == "1")
            && Interlocked.Exchange(ref _creating, 1) == 0)
        {
            _ = CreateAsync(secret);
            return HealthCheckResult.Unhealthy("Creating the cluster.");
        }

        return HealthCheckResult.Unhealthy(string.Join(", ", infos.Select((i, n) => $"node {nodes[n].Port}: cluster_state:{i.GetValueOrDefault("cluster_state")}")));
    }

    private async Task CreateAsync(string secret)
    {
        try
        {
            var args = new List<string> { "-a", secret, "--no-auth-warning", "--cluster", "create" };
            args.AddRange(nodes.Select(n => $"{n.Host}:{n.Port.ToString(CultureInfo.InvariantCulture)}"));
            args.Add("--cluster-yes");
            using var cli = Process.Start(new ProcessStartInfo("redis-cli", args)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            })!;
            var output = cli.StandardOutput.ReadToEndAsync();
            var error = cli.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(CreateTimeout);
            try
            {
                await cli.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                cli.Kill(entireProcessTree: true);
            }

            if (!cli.HasExited || cli.ExitCode != 0)
            {
                // Left to the next check to try again; what redis-cli said goes to the AppHost's console.
                Console.Error.WriteLine($"redis-cli --cluster create failed: {await output}{await error}");
            }
        }
        finally
        {
            Volatile.Write(ref _creating, 0);
        }
    }

    /// <summary>AUTH and CLUSTER INFO, pipelined; null when the node does not answer both.</summary>
    private static async Task<Dictionary<string, string>?> ClusterInfoAsync(EndpointReference node, string secret, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(ProbeTimeout);
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(node.Host, node.Port, timeout.Token);
            var stream = client.GetStream();
            await stream.WriteAsync(Command("AUTH", secret).Concat(Command("CLUSTER", "INFO")).ToArray(), timeout.Token);
            var received = new List<byte>();
            var buffer = new byte[4096];
            while (true)
            {
                var read = await stream.ReadAsync(buffer, timeout.Token);
                if (read == 0)
                {
                    return null;
                }

                received.AddRange(buffer.AsSpan(0, read));
                var text = Encoding.ASCII.GetString([.. received]);
                if (!text.StartsWith("+OK\r\n", StringComparison.Ordinal))
                {
                    if (text.Length < 5 && "+OK\r\n".StartsWith(text, StringComparison.Ordinal))
                    {
                        continue;
                    }

                    return null;
                }

                var bulk = text.IndexOf('$', StringComparison.Ordinal);
                var header = bulk < 0 ? -1 : text.IndexOf("\r\n", bulk, StringComparison.Ordinal);
                if (header > 0 && int.TryParse(text.AsSpan(bulk + 1, header - bulk - 1), CultureInfo.InvariantCulture, out var length)
                    && text.Length >= header + 2 + length)
                {
                    return text.Substring(header + 2, length)
                        .Split("\r\n", StringSplitOptions.RemoveEmptyEntries)
                        .Select(line => line.Split(':', 2))
                        .Where(pair => pair.Length == 2)
                        .ToDictionary(pair => pair[0], pair => pair[1]);
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            return null;
        }
    }

    private static byte[] Command(params string[] parts)
    {
        var command = new StringBuilder().Append('*').Append(parts.Length).Append("\r\n");
        foreach (var part in parts)
        {
            command.Append('$').Append(Encoding.UTF8.GetByteCount(part)).Append("\r\n").Append(part).Append("\r\n");
        }

        return Encoding.UTF8.GetBytes(command.ToString());
    }
}
