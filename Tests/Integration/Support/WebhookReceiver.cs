using System.Collections.Concurrent;
using System.Net;
using System.Text;

namespace LlmCostTracker.Tests.Integration;

/// <summary>An HTTP endpoint in the test process that the worker delivers alert webhooks to (<c>/json</c> and
/// <c>/slack</c>). It keeps every attempt it answered; a test decides the answer for bodies that mention a subject
/// (<see cref="FailTimes"/> 500s first, <see cref="Refuse"/> with 410 until removed, or <see cref="Hold"/> with no
/// answer at all).</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly LoopbackListener _listener;
    private readonly ConcurrentQueue<Attempt> _attempts = new();
    private readonly ConcurrentQueue<Attempt> _held = new();
    private readonly ConcurrentDictionary<(string Path, string Key), int> _failed = new();

    public sealed record Attempt(string Path, string? WebhookId, string? Timestamp, string? Signature, string Body, int Status);

    public WebhookReceiver()
    {
        _listener = new LoopbackListener(ServeAsync);
    }

    public Uri Endpoint => _listener.Endpoint;

    /// <summary>Subject → how many of its first attempts (per path) answer 500.</summary>
    public ConcurrentDictionary<string, int> FailTimes { get; } = new();

    /// <summary>Subjects whose attempts on <c>/json</c> answer 410 (not retried: dead-lettered).</summary>
    public ConcurrentDictionary<string, bool> Refuse { get; } = new();

    /// <summary>Subject → the signal that ends its hold: until it completes, attempts that mention the subject get no
    /// answer, as an endpoint that accepts connections and hangs; then their connections are dropped unanswered.</summary>
    public ConcurrentDictionary<string, TaskCompletionSource> Hold { get; } = new();

    public IReadOnlyList<Attempt> Attempts => [.. _attempts];

    /// <summary>Attempts that arrived while their subject was held (never answered; <see cref="Attempt.Status"/> 0).</summary>
    public IReadOnlyList<Attempt> Held => [.. _held];

    /// <summary>While set, every attempt answers 503, as a receiver behind a load balancer with no healthy instance
    /// (the port stays bound: closing and re-binding it could lose it to another process in between).</summary>
    public bool Down { get; set; }

    /// <summary>The attempts on <paramref name="path"/> whose body mentions <paramref name="subject"/>.</summary>
    public IReadOnlyList<Attempt> For(string path, string subject) =>
        [.. _attempts.Where(a => a.Path == path && a.Body.Contains(subject, StringComparison.Ordinal))];

    private async Task ServeAsync(HttpListenerContext context)
    {
        string body;
        using (var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8))
        {
            body = await reader.ReadToEndAsync();
        }

        var path = context.Request.Url?.AbsolutePath ?? "";
        var attempt = new Attempt(path, context.Request.Headers["webhook-id"], context.Request.Headers["webhook-timestamp"],
            context.Request.Headers["webhook-signature"], body, 0);
        if (Hold.FirstOrDefault(h => body.Contains(h.Key, StringComparison.Ordinal)).Value is { } hold)
        {
            _held.Enqueue(attempt);
            await hold.Task;
            context.Response.Abort();
            return;
        }

        var status = 200;
        foreach (var (subject, times) in FailTimes)
        {
            if (body.Contains(subject, StringComparison.Ordinal) && _failed.AddOrUpdate((path, subject + attempt.WebhookId), 1, (_, n) => n + 1) <= times)
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

        _attempts.Enqueue(attempt with { Status = status });
        context.Response.StatusCode = status;
        context.Response.Close();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var hold in Hold.Values)
        {
            hold.TrySetResult();
        }

        await _listener.DisposeAsync();
    }
}
