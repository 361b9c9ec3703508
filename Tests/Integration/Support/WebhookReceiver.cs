using System.Collections.Concurrent;
using System.Net;
using System.Text;

namespace LlmCostTracker.Tests.Integration;

/// <summary>An HTTP endpoint in the test process that the worker delivers alert webhooks to (<c>/json</c> and
/// <c>/slack</c>). It keeps every attempt it answered; a test decides the answer for bodies that mention a subject
/// (<see cref="FailTimes"/> 500s first, or <see cref="Refuse"/> with 410 until removed).</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly HttpListener _listener;
    private readonly ConcurrentQueue<Attempt> _attempts = new();
    private readonly Task _loop;

    public sealed record Attempt(string Path, string? WebhookId, string? Timestamp, string? Signature, string Body, int Status);

    public WebhookReceiver()
    {
        _listener = LoopbackListener.Start(out var endpoint);
        Endpoint = endpoint;
        _loop = Task.Run(ServeAsync);
    }

    public Uri Endpoint { get; }

    /// <summary>Subject → how many of its first attempts (per path) answer 500.</summary>
    public ConcurrentDictionary<string, int> FailTimes { get; } = new();

    /// <summary>Subjects whose attempts on <c>/json</c> answer 410 (not retried: dead-lettered).</summary>
    public ConcurrentDictionary<string, bool> Refuse { get; } = new();

    public IReadOnlyList<Attempt> Attempts => [.. _attempts];

    /// <summary>While set, every attempt answers 503, as a receiver behind a load balancer with no healthy instance
    /// (the port stays bound: closing and re-binding it could lose it to another process in between).</summary>
    public bool Down { get; set; }

    /// <summary>The attempts on <paramref name="path"/> whose body mentions <paramref name="subject"/>.</summary>
    public IReadOnlyList<Attempt> For(string path, string subject) =>
        [.. _attempts.Where(a => a.Path == path && a.Body.Contains(subject, StringComparison.Ordinal))];

    private async Task ServeAsync()
    {
        var failed = new ConcurrentDictionary<(string, string), int>();
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

            using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            var path = context.Request.Url?.AbsolutePath ?? "";
            var status = 200;
            foreach (var (subject, times) in FailTimes)
            {
                if (body.Contains(subject, StringComparison.Ordinal) && failed.AddOrUpdate((path, subject + context.Request.Headers["webhook-id"]), 1, (_, n) => n + 1) <= times)
                {
                    status = 500;
                }
            }

            if (Down)
            {
                status = 503;
            }
            else if (path == "/json" && Refuse.Keys.Any(subject => body.Contains(subject, StringComparison.Ordinal)))
            {
                status = 410;
            }

            _attempts.Enqueue(new Attempt(path, context.Request.Headers["webhook-id"], context.Request.Headers["webhook-timestamp"],
                context.Request.Headers["webhook-signature"], body, status));
            context.Response.StatusCode = status;
            context.Response.Close();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
    }
}
