using System.Diagnostics;
using System.Runtime.InteropServices;

namespace LlmCostTracker.AppHost.Infrastructure;

/// <summary>Runs Debian's PostgreSQL as a local process when no container runtime answers: its own data folder
/// (in the run's, so a stop and start of the resource keeps its data), a free loopback port, a generated password,
/// and one database.</summary>
internal static class LocalPostgres
{
    private const string BinRoot = "/usr/lib/postgresql";

    /// <summary>PostgreSQL refuses to run as root; under root (CI machines, containers) the server runs as Debian's
    /// <c>postgres</c> system user, which the package creates.</summary>
    private const string ServiceUser = "postgres";

    // The server stops on SIGTERM only once every client has disconnected (a "smart" shutdown); the services' pooled
    // connections would hold it until the orchestrator kills it. This wrapper turns the orchestrator's SIGTERM into
    // SIGINT, a "fast" shutdown: sessions are ended and the data checkpointed. $0 is the server, $@ its arguments.
    // The server writes every log line to stderr, which the dashboard shows as errors ("fail" in the AppHost's
    // output) down to "database system is ready"; on stdout each line still says its level (LOG, WARNING, ERROR).
    private const string FastShutdownWrapper = """
        trap 'kill -INT "$pid" 2>/dev/null' TERM INT
        "$0" "$@" 2>&1 &
        pid=$!
        wait "$pid"
        wait "$pid"
        """;

    public static IResourceBuilder<LocalPostgresResource> AddLocalPostgres(
        this IDistributedApplicationBuilder builder, string name, string database, RunDataDirectory data)
    {
        var bin = FindBinDirectory();
        var password = builder.AddParameter(
            $"{name}-password", new GenerateParameterDefault { MinLength = 24, Special = false }, secret: true).Resource;
        var directory = data.For(name);
        var asRoot = Environment.UserName == "root";
        var command = asRoot ? "setpriv" : "/bin/sh";
        var postgres = builder.AddResource(new LocalPostgresResource(name, command, directory, password, database));

        // Not proxied, as Redis and RabbitMQ; the port stays the same across restarts.
        var port = LocalInfrastructure.FreeLoopbackPort();
        postgres.WithEndpoint(name: LocalPostgresResource.EndpointName, scheme: "tcp", port: port, targetPort: port, isProxied: false);
        var resource = postgres.Resource;
        postgres.WithArgs(context =>
        {
            if (asRoot)
            {
                foreach (var arg in RunAsServiceUser)
                {
                    context.Args.Add(arg);
                }

                context.Args.Add("/bin/sh");
            }

            context.Args.Add("-c");
            context.Args.Add(FastShutdownWrapper);
            context.Args.Add(Path.Combine(bin, "postgres"));
            context.Args.Add("-D");
            context.Args.Add(resource.DataDirectory);
            context.Args.Add("-c");
            context.Args.Add("listen_addresses=127.0.0.1");
            context.Args.Add("-p");
            context.Args.Add(resource.PrimaryEndpoint.Property(EndpointProperty.TargetPort));
            // TCP only: the default socket folder (/var/run/postgresql) may not exist or be writable.
            context.Args.Add("-c");
            context.Args.Add("unix_socket_directories=");
        });

        string? connectionString = null;
        builder.Eventing.Subscribe<BeforeResourceStartedEvent>(resource, async (_, ct) =>
        {
            var secret = await password.GetValueAsync(ct) ?? throw new InvalidOperationException($"{name}-password has no value.");
            await PrepareAsync(bin, resource, secret, asRoot, ct);
            connectionString = await resource.ConnectionStringExpression.GetValueAsync(ct);
        });

        // A real query against the database: the server accepts connections before it has finished starting.
        var healthKey = $"{name}-query";
        builder.Services.AddHealthChecks().AddNpgSql(
            _ => connectionString ?? throw new InvalidOperationException($"{name} has not started yet."), name: healthKey);
        return postgres.WithHealthCheck(healthKey);
    }

    private static readonly string[] RunAsServiceUser = [$"--reuid={ServiceUser}", $"--regid={ServiceUser}", "--init-groups", "--"];

    /// <summary>Creates the cluster and its database on the first start; on every start sets the superuser's password
    /// to this run's (a data folder kept across runs, <see cref="RunDataDirectory.ConfigurationKey"/>, was made with
    /// another). Both run the server in single-user mode, before it listens.</summary>
    private static async Task PrepareAsync(string bin, LocalPostgresResource resource, string password, bool asRoot, CancellationToken ct)
    {
        var dataDirectory = resource.DataDirectory;
        var statements = new List<string> { $"ALTER USER {LocalPostgresResource.UserName} PASSWORD '{password}';" };
        if (!File.Exists(Path.Combine(dataDirectory, "PG_VERSION")))
        {
            Directory.CreateDirectory(dataDirectory);
            if (asRoot)
            {
                await RunAsync("chown", ["-R", $"{ServiceUser}:{ServiceUser}", resource.WorkingDirectory], null, ct);
            }

            await RunAsync(Path.Combine(bin, "initdb"),
                ["-D", dataDirectory, "-U", LocalPostgresResource.UserName, "--auth=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions"],
                null, ct, asRoot);
            statements.Add($"CREATE DATABASE \"{resource.Database}\";");
        }

        // One statement a line; exit_on_error makes a failed statement fail the step instead of being printed only.
        await RunAsync(Path.Combine(bin, "postgres"),
            ["--single", "-D", dataDirectory, "-c", "exit_on_error=on", "-c", "unix_socket_directories=", "postgres"],
            string.Join('\n', statements) + "\n", ct, asRoot);
    }

    private static async Task RunAsync(string file, IReadOnlyList<string> args, string? input, CancellationToken ct, bool asRoot = false)
    {
        var start = new ProcessStartInfo(asRoot ? "setpriv" : file)
        {
            RedirectStandardInput = input is not null,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (asRoot)
        {
            foreach (var arg in RunAsServiceUser)
            {
                start.ArgumentList.Add(arg);
            }

            start.ArgumentList.Add(file);
        }

        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        var output = process.StandardOutput.ReadToEndAsync(ct);
        var errors = process.StandardError.ReadToEndAsync(ct);
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input.AsMemory(), ct);
            process.StandardInput.Close();
        }

        await process.WaitForExitAsync(ct);
        if (process.ExitCode != 0)
        {
            throw new DistributedApplicationException(
                $"{Path.GetFileName(file)} failed (exit code {process.ExitCode}): {await errors}{await output}");
        }
    }

    /// <summary>The newest installed server's bin folder (Debian installs each major version side by side).</summary>
    private static string FindBinDirectory()
    {
        var found = Directory.Exists(BinRoot)
            ? Directory.GetDirectories(BinRoot)
                .Where(d => File.Exists(Path.Combine(d, "bin", "postgres")) && File.Exists(Path.Combine(d, "bin", "initdb")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(d), out var major) ? major : 0)
                .FirstOrDefault()
            : null;
        if (found is null || !RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
        {
            throw new DistributedApplicationException(
                $"Infrastructure mode 'executable' needs PostgreSQL's server ({BinRoot}/<version>/bin/postgres), which is missing: " +
                "install it with: sudo apt-get install -y postgresql (or start a container runtime and set Infrastructure__Mode=container).");
        }

        return Path.Combine(found, "bin");
    }
}
