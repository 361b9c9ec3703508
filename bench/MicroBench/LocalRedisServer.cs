using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace LlmCostTracker.MicroBench;

/// <summary>A redis-server of the benchmark's own on a free loopback port, without persistence, stopped on dispose.</summary>
public sealed class LocalRedisServer : IDisposable
{
    private readonly Process _process;

    /// <param name="config">More of redis-server's arguments (<c>--name value</c>), as a deployment would set them.</param>
    public LocalRedisServer(string config = "")
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        _process = Process.Start(new ProcessStartInfo("redis-server", $"--port {port} --bind 127.0.0.1 --save \"\" --appendonly no {config}")
        {
            RedirectStandardOutput = true,
        })!;
        Endpoint = $"127.0.0.1:{port}";
        Connection = ConnectWithRetry($"{Endpoint},allowAdmin=true");
    }

    public string Endpoint { get; }

    public ConnectionMultiplexer Connection { get; }

    public IServer Server => Connection.GetServer(Endpoint);

    /// <summary>The server's user + kernel time so far.</summary>
    public TimeSpan ProcessorTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    public void Dispose()
    {
        Connection.Dispose();
        _process.Kill();
        _process.WaitForExit();
        _process.Dispose();
    }

    private static ConnectionMultiplexer ConnectWithRetry(string endpoint)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return ConnectionMultiplexer.Connect(endpoint);
            }
            catch (RedisConnectionException) when (attempt < 50)
            {
                // The server is still starting: a bounded number of short waits.
                Thread.Sleep(100);
            }
        }
    }
}
