using System.Diagnostics;

namespace LlmCostTracker.AppHost.Infrastructure;

/// <summary>How Redis and RabbitMQ are run: as containers, or as local Debian processes.</summary>
public enum InfrastructureMode
{
    Auto,
    Container,
    Executable,
}

internal static class InfrastructureModeResolver
{
    public const string ConfigurationKey = "Infrastructure:Mode";

    public static InfrastructureMode Resolve(IConfiguration configuration)
    {
        var configured = configuration[ConfigurationKey];
        var mode = InfrastructureMode.Auto;
        if (!string.IsNullOrWhiteSpace(configured) && !Enum.TryParse(configured, ignoreCase: true, out mode))
        {
            throw new DistributedApplicationException(
                $"{ConfigurationKey} is '{configured}'; expected 'auto', 'container' or 'executable'.");
        }

        return mode == InfrastructureMode.Auto
            ? (ContainerRuntimeAnswers() ? InfrastructureMode.Container : InfrastructureMode.Executable)
            : mode;
    }

    // `docker info` answers in milliseconds whether a daemon runs; the client alone (as on our CI) exits non-zero.
    private static bool ContainerRuntimeAnswers()
    {
        foreach (var runtime in new[] { "docker", "podman" })
        {
            try
            {
                using var process = Process.Start(new ProcessStartInfo(runtime, "info")
                {
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                    UseShellExecute = false,
                });
                if (process is null)
                {
                    continue;
                }

                process.StandardOutput.ReadToEndAsync();
                process.StandardError.ReadToEndAsync();
                if (process.WaitForExit(TimeSpan.FromSeconds(10)) && process.ExitCode == 0)
                {
                    return true;
                }

                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }
            }
            catch (System.ComponentModel.Win32Exception)
            {
                // Not installed: try the next runtime.
            }
        }

        return false;
    }
}
