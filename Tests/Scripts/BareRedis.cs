using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LlmCostTracker.Tests.Integration;
using StackExchange.Redis;

namespace LlmCostTracker.Tests.Scripts;

/// <summary>A bare redis-server for the scripts' own tests, started here on a free loopback port with no
/// persistence, in cluster mode with every slot on this one node: a script call whose keys span two slots fails with
/// CROSSSLOT here exactly as on a real cluster.</summary>
public sealed class BareRedis : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private readonly string _directory = Directory.CreateTempSubdirectory("llmcost-bare-redis-").FullName;
    private Process? _server;

    public ConnectionMultiplexer Connection { get; private set; } = null!;

    public IDatabase Db => Connection.GetDatabase();

    public async Task InitializeAsync()
    {
        var port = FreePort();
        _server = Process.Start(new ProcessStartInfo("redis-server",
            ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", _directory, "--cluster-enabled", "yes", "--cluster-config-file", Path.Combine(_directory, "nodes.conf")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        _ = _server.StandardOutput.ReadToEndAsync();
        _ = _server.StandardError.ReadToEndAsync();

        var endpoint = $"127.0.0.1:{port}";
        using var timeout = new CancellationTokenSource(StartTimeout);
        Connection = await Eventually.ReturnsAsync(
            async () =>
            {
                try
                {
                    return await ConnectionMultiplexer.ConnectAsync(endpoint);
                }
                catch (RedisConnectionException)
                {
                    return null;
                }
            },
            connection => connection is not null, StartTimeout, "the bare redis-server to accept connections") ?? throw new InvalidOperationException();

        var server = Connection.GetServer(endpoint);
        var added = await server.ExecuteAsync("CLUSTER", "ADDSLOTSRANGE", "0", "16383");
        Assert.Equal("OK", added.ToString());
        await Eventually.ReturnsAsync(
            async () => (await server.ExecuteAsync("CLUSTER", "INFO")).ToString(),
            info => info.Contains("cluster_state:ok", StringComparison.Ordinal), StartTimeout, "cluster_state:ok");
        // Reconnect so the client sees the slots (it read none when it connected).
        Connection.Dispose();
        Connection = await ConnectionMultiplexer.ConnectAsync(endpoint);
    }

    public async Task DisposeAsync()
    {
        Connection?.Dispose();
        if (_server is { HasExited: false })
        {
            _server.Kill();
            await _server.WaitForExitAsync().WaitAsync(StartTimeout);
        }

        _server?.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
