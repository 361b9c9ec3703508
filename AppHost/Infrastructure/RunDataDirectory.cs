namespace LlmCostTracker.AppHost.Infrastructure;

/// <summary>The folder where local Redis and RabbitMQ keep their data for one AppHost run. A configured folder
/// (<c>Infrastructure:DataDirectory</c>) persists across runs; the default is a fresh folder removed at exit.
/// A hosted service only so that the host creates it, with its lifetime, when it starts.</summary>
internal sealed class RunDataDirectory(string root, bool ephemeral) : IHostedService
{
    public const string ConfigurationKey = "Infrastructure:DataDirectory";

    private readonly List<Action> _cleanups = [];
    private int _cleanedUp;

    public string Root { get; } = Directory.CreateDirectory(root).FullName;

    public static RunDataDirectory Create(IConfiguration configuration)
    {
        var configured = configuration[ConfigurationKey];
        return string.IsNullOrWhiteSpace(configured)
            ? new RunDataDirectory(Path.Combine(Path.GetTempPath(), "llmcost-tracker", $"run-{Environment.ProcessId}-{Guid.NewGuid():N}"), ephemeral: true)
            : new RunDataDirectory(Path.GetFullPath(configured), ephemeral: false);
    }

    /// <summary>Cleans up when the application has stopped (the orchestrator has stopped the servers by then), and
    /// at process exit in case the host was never stopped gracefully (e.g. a benchmark ended by SIGTERM).</summary>
    public void CleanUpOnExit(IHostApplicationLifetime lifetime)
    {
        lifetime.ApplicationStopped.Register(CleanUp);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => CleanUp();
    }

    Task IHostedService.StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    Task IHostedService.StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public string For(string resourceName)
    {
        var path = Path.Combine(Root, resourceName);
        Directory.CreateDirectory(path);
        return path;
    }

    public void OnCleanup(Action cleanup) => _cleanups.Add(cleanup);

    private void CleanUp()
    {
        if (Interlocked.Exchange(ref _cleanedUp, 1) == 1)
        {
            return;
        }

        foreach (var cleanup in _cleanups)
        {
            cleanup();
        }

        if (ephemeral)
        {
            try
            {
                Directory.Delete(Root, recursive: true);
            }
            catch (IOException)
            {
                // A server still closing its files: the folder is under the temp path and holds nothing secret.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}
