using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace LlmCostTracker.AppHost.Infrastructure;

/// <summary>When the AppHost stops (Ctrl+C), stops the .NET services before anything else, and waits until they have
/// exited. The orchestrator otherwise stops every resource at once: Redis, the broker and PostgreSQL went while the
/// services were still finishing, so their stop met dead connections, logged failures, and the worker's lasted until
/// the orchestrator killed it ~12 s later. Stopped first, a service finishes its messages, flushes its telemetry to the
/// still running dashboard, and exits in its own shutdown time. The host stops hosted services in the reverse order of
/// their registration, so this one, registered after Aspire's own, runs before the orchestrator's teardown.</summary>
internal sealed class ServicesStopFirst(
    DistributedApplicationModel model,
    ResourceCommandService commands,
    ResourceNotificationService notifications,
    IConfiguration configuration,
    ILogger<ServicesStopFirst> logger) : IHostedService
{
    /// <summary>How long the AppHost waits for the services to exit before it stops the rest anyway: above the
    /// services' own shutdown time (<c>Shutdown:Timeout</c>, 5 s) and their launcher's exit.</summary>
    public const string TimeoutKey = "Shutdown:ServicesTimeout";

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private int _stopCalls;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // Once: a test's or the benchmark's app is stopped and then disposed, and the host stops its hosted services
        // again on dispose; a second pass asked the stopped orchestrator for stops until its bound ran out (10 s more).
        if (Interlocked.Increment(ref _stopCalls) > 1)
        {
            return;
        }

        var projects = model.Resources.OfType<ProjectResource>().ToArray();
        if (projects.Length == 0)
        {
            return;
        }

        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(configuration.GetValue(TimeoutKey, DefaultTimeout));
        var clock = Stopwatch.StartNew();
        try
        {
            // Watched before the stops are asked for, so that no exit is missed; the watch starts with the current states.
            var exited = WaitForExitAsync(projects, bound.Token);
            // Each project's command reaches all its instances (replicas). An instance with no process (one a test
            // stopped, one still waiting for its dependencies) refuses it, and counts as stopped already.
            var stops = await Task.WhenAll(projects.Select(project => commands.ExecuteCommandAsync(project, KnownResourceCommands.StopCommand, bound.Token)));
            for (var i = 0; i < projects.Length; i++)
            {
                if (!stops[i].Success)
                {
                    logger.LogDebug("Stopping {Resource} before the infrastructure: {Message}", projects[i].Name, stops[i].Message);
                }
            }

            await exited;
            logger.LogInformation("The services stopped in {Elapsed:F1} s; now the infrastructure", clock.Elapsed.TotalSeconds);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("The services had not all exited after {Elapsed:F1} s ({Key}); stopping the rest anyway",
                clock.Elapsed.TotalSeconds, TimeoutKey);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The order is a courtesy to the services: whatever fails here, the orchestrator still stops everything.
            logger.LogWarning(ex, "Stopping the services before the infrastructure failed; stopping everything now");
        }
    }

    /// <summary>Until every instance of every project shows a stopped state (a project's instances: its replicas).</summary>
    private async Task WaitForExitAsync(ProjectResource[] projects, CancellationToken cancellationToken)
    {
        var instances = projects.ToDictionary(p => (IResource)p, p => p.Annotations.OfType<ReplicaAnnotation>().LastOrDefault()?.Replicas ?? 1);
        var total = instances.Values.Sum();
        var stopped = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var change in notifications.WatchAsync(cancellationToken))
        {
            if (!instances.ContainsKey(change.Resource))
            {
                continue;
            }

            if (HasStopped(change.Snapshot))
            {
                stopped.Add(change.ResourceId);
            }
            else
            {
                stopped.Remove(change.ResourceId);
            }

            if (stopped.Count == total)
            {
                return;
            }
        }
    }

    /// <summary>A project instance has no process: a terminal state, "Stopped" or "Unknown" (which a stopped project
    /// may show, as the tests' fixture also allows), or one never started (waiting for its dependencies).</summary>
    private static bool HasStopped(CustomResourceSnapshot snapshot) =>
        snapshot.State?.Text is { } state && (KnownResourceStates.TerminalStates.Contains(state)
            || state == KnownResourceStates.Waiting || state == KnownResourceStates.NotStarted || state is "Stopped" or "Unknown");
}
