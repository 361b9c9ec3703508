namespace LlmCostTracker.AppHost.Infrastructure;

/// <summary>The folder where local Redis and RabbitMQ keep their data for one AppHost run. A configured folder
/// (<c>Infrastructure:DataDirectory</c>) persists across runs; the default is a fresh folder removed at exit.</summary>
internal sealed class RunDataDirectory
{
    public const string ConfigurationKey = "Infrastructure:DataDirectory";

    private readonly List<Action> _cleanups = [];
    private readonly bool _ephemeral;

    public RunDataDirectory(string root, bool ephemeral)
    {
        Root = root;
        _ephemeral = ephemeral;
        Directory.CreateDirectory(root);
        // At process exit, after the orchestrator has stopped the servers (also when the host was never stopped
        // gracefully, e.g. a benchmark ended by SIGTERM).
        AppDomain.CurrentDomain.ProcessExit += (_, _) => CleanUp();
    }

    public string Root { get; }

    public static RunDataDirectory Create(IConfiguration configuration)
    {
        var configured = configuration[ConfigurationKey];
        return string.IsNullOrWhiteSpace(configured)
            ? new RunDataDirectory(Path.Combine(Path.GetTempPath(), "llmcost-tracker", $"run-{Environment.ProcessId}-{Guid.NewGuid():N}"), ephemeral: true)
            : new RunDataDirectory(Path.GetFullPath(configured), ephemeral: false);
    }

    public string For(string resourceName)
    {
        var path = Path.Combine(Root, resourceName);
        Directory.CreateDirectory(path);
        return path;
    }

    public void OnCleanup(Action cleanup) => _cleanups.Add(cleanup);

    private void CleanUp()
    {
        foreach (var cleanup in _cleanups)
        {
            cleanup();
        }

        if (_ephemeral)
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
