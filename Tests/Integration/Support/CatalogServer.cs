using System.Net;
using System.Net.Sockets;

namespace LlmCostTracker.Tests.Integration.Support;

/// <summary>A local HTTP server for the scheduled catalog pull (<c>Pricing:CatalogUrl</c>): it answers every GET with
/// whatever a test set (<see cref="Serve"/>), or 404 when nothing is set, and counts the requests it answered.</summary>
public sealed class CatalogServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private byte[]? _body;
    private int _requests;

    public CatalogServer()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        Url = new Uri($"http://127.0.0.1:{port}/catalog.json");
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public Uri Url { get; }

    public int Requests => Volatile.Read(ref _requests);

    /// <summary>What the next requests get: a body (200) or null (404).</summary>
    public void Serve(byte[]? body) => Volatile.Write(ref _body, body);

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }

            var body = Volatile.Read(ref _body);
            context.Response.StatusCode = body is null ? 404 : 200;
            context.Response.ContentType = "application/json";
            if (body is not null)
            {
                await context.Response.OutputStream.WriteAsync(body);
            }

            context.Response.Close();
            Interlocked.Increment(ref _requests);
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Close();
        _stop.Dispose();
    }
}
