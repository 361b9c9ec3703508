using System.Collections.Concurrent;

namespace LlmCostTracker.Tests.Integration;

/// <summary>Notices a service of the app that exits without a test having stopped it, and from then on fails the
/// tests' requests to the app and their waits on the ledger at once, saying which service exited and how. Without
/// it, a dead service behind the orchestrator's proxy holds each request until its timeout (the proxy accepts and
/// never answers), and a dead worker each wait until its bound: one CI run spent 80 minutes on 157 such timeouts
/// and printed nothing about the cause.</summary>
public sealed class ServiceExitGuard(ResourceLogTail logs) : IAsyncDisposable
{
    private static readonly string[] Services = ["apiservice", "workerservice", "costdashboard"];

    private readonly ConcurrentDictionary<string, int> _stopping = new();
    private readonly ConcurrentQueue<string> _exits = new();
    private readonly CancellationTokenSource _stop = new();
    private Task _watch = Task.CompletedTask;

    /// <summary>The unexpected exits seen so far, e.g. "apiservice-abc: Exited (exit code 134)".</summary>
    public IReadOnlyCollection<string> Exits => _exits;

    public void Start(DistributedApplication app) => _watch = WatchAsync(app, _stop.Token);

    /// <summary>Marks a resource as stopped on purpose until <see cref="Started"/> is called for it.</summary>
    public void Stopping(string name) => _stopping.AddOrUpdate(name, 1, (_, n) => n + 1);

    public void Started(string name) => _stopping.AddOrUpdate(name, 0, (_, n) => Math.Max(0, n - 1));

    /// <summary>Throws once a service exited that no test stopped (for waits on the ledger, which a dead worker would
    /// hold until their bound).</summary>
    public void ThrowIfExited()
    {
        if (!_exits.IsEmpty)
        {
            // What the service printed last (the exception of a crash): its own output is deleted with its process.
            var names = _exits.Select(exit => Services.First(exit.StartsWith)).Distinct();
            var last = names.Select(name => $"\n{name}'s last lines:\n{string.Join('\n', logs.Summary(name))}");
            throw new InvalidOperationException($"A service of the app exited without a test stopping it: {string.Join("; ", _exits)}{string.Concat(last)}");
        }
    }

    /// <summary>A handler for the tests' HTTP clients that refuses to send once a service exited unexpectedly.</summary>
    public DelegatingHandler Handler() => new Guard(this);

    private async Task WatchAsync(DistributedApplication app, CancellationToken ct)
    {
        try
        {
            await foreach (var e in app.ResourceNotifications.WatchAsync(ct))
            {
                var name = e.Resource.Name;
                if (Services.Contains(name) && e.Snapshot.State?.Text is "Exited" or "Finished" or "FailedToStart"
                    && _stopping.GetValueOrDefault(name) == 0 && _stopping.GetValueOrDefault(e.ResourceId) == 0
                    && !_exits.Any(exit => exit.StartsWith(e.ResourceId + ":", StringComparison.Ordinal)))
                {
                    _exits.Enqueue($"{e.ResourceId}: {e.Snapshot.State?.Text} (exit code {e.Snapshot.ExitCode?.ToString() ?? "none"})");
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _watch;
        _stop.Dispose();
    }

    private sealed class Guard(ServiceExitGuard guard) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            guard.ThrowIfExited();
            return base.SendAsync(request, cancellationToken);
        }
    }
}
