using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LlmCostTracker.Tests.Integration;

/// <summary>A local HTTP listener posing as Sentry: it records every envelope it is sent.</summary>
public sealed class FakeSentry : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;

    public FakeSentry()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        Port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    public int Port { get; }

    public string Dsn => $"http://0123456789abcdef0123456789abcdef@127.0.0.1:{Port}/42";

    public ConcurrentQueue<(string Path, string Body)> Envelopes { get; } = new();

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            Stream body = context.Request.InputStream;
            if (context.Request.Headers["Content-Encoding"] == "gzip")
            {
                body = new GZipStream(body, CompressionMode.Decompress);
            }

            using (var reader = new StreamReader(body, Encoding.UTF8))
            {
                Envelopes.Enqueue((context.Request.Url!.AbsolutePath, await reader.ReadToEndAsync()));
            }

            context.Response.StatusCode = 200;
            context.Response.Close();
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }
}
