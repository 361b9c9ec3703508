using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace LlmCostTracker.Tests.Integration;

/// <summary>An <see cref="HttpListener"/> on a free loopback port, serving the requests the services send
/// (<see cref="OtlpCollector"/>, <see cref="WebhookReceiver"/>). Each request is served on its own: one the sender
/// abandons mid-way (a service stopped while it posts, an attempt past its timeout) fails alone, and the listener keeps
/// serving the rest of the suite, as a real endpoint does. (Served one after another, such a request once ended the
/// loop: every later post hung unanswered, and the worker's stop waited on them.)</summary>
public sealed class LoopbackListener : IAsyncDisposable
{
    private readonly HttpListener _listener;
    private readonly Func<HttpListenerContext, Task> _serve;
    private readonly ConcurrentDictionary<Task, bool> _serving = new();
    private readonly Task _loop;
    private int _abandoned;

    public LoopbackListener(Func<HttpListenerContext, Task> serve)
    {
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            Endpoint = new Uri($"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}/");
        }

        _serve = serve;
        _listener = new HttpListener();
        _listener.Prefixes.Add(Endpoint.ToString());
        _listener.Start();
        _loop = Task.Run(AcceptAsync);
    }

    public Uri Endpoint { get; }

    /// <summary>Requests that could not be read or answered because their sender had gone.</summary>
    public int Abandoned => Volatile.Read(ref _abandoned);

    private async Task AcceptAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            var serving = Task.Run(() => ServeOneAsync(context));
            _serving[serving] = true;
            _ = serving.ContinueWith(t => _serving.TryRemove(t, out _), TaskScheduler.Default);
        }
    }

    private async Task ServeOneAsync(HttpListenerContext context)
    {
        try
        {
            await _serve(context);
        }
        catch (Exception ex) when (ex is IOException or HttpListenerException or ObjectDisposedException or InvalidOperationException)
        {
            Interlocked.Increment(ref _abandoned);
        }
    }

    /// <summary>Stops listening and waits for the requests being served (a server's own holds must be released first).</summary>
    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
        await Task.WhenAll(_serving.Keys);
    }
}
