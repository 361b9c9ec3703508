using System.Net;
using System.Net.Sockets;

namespace LlmCostTracker.AppHost.Infrastructure;

/// <summary>Runs Redis and RabbitMQ as local processes when no container runtime answers.</summary>
internal static class LocalInfrastructure
{
    public const string RabbitMqServer = "/usr/lib/rabbitmq/bin/rabbitmq-server";
    private const string InstallHint = "Install it with: sudo apt-get install -y redis-server rabbitmq-server " +
        "(or start a container runtime and set Infrastructure__Mode=container).";

    /// <summary>One redis-server, or with <paramref name="shards"/> of 3 or more a Redis Cluster of that many
    /// masters: the first is the resource <paramref name="name"/> (the one services reference, healthy once the
    /// cluster is), the others <c>{name}-shard-1</c>, ...</summary>
    public static IResourceBuilder<LocalRedisResource> AddLocalRedis(
        this IDistributedApplicationBuilder builder, string name, RunDataDirectory data, int shards)
    {
        var appendFsync = RedisAppendFsync.Resolve(builder.Configuration);
        RequireBinary("redis-server", "/usr/bin/redis-server", "redis-server");
        var password = builder.AddParameter(
            $"{name}-password", new GenerateParameterDefault { MinLength = 24, Special = false }, secret: true).Resource;
        if (shards == 1)
        {
            var redis = builder.AddRedisServer(name, data.For(name), password, appendFsync, clusterBusPort: null);
            var endpoint = redis.Resource.PrimaryEndpoint;
            return redis.WithProbe(builder, $"{name}-ping", ct => ProtocolProbes.RedisAsync(endpoint, ct));
        }

        RequireBinary("redis-cli", "/usr/bin/redis-cli", "redis-tools");
        var nodes = Enumerable.Range(0, shards)
            .Select(i => i == 0 ? name : $"{name}-shard-{i}")
            .Select(node => builder.AddRedisServer(node, data.For(node), password, appendFsync, clusterBusPort: FreeLoopbackPort()))
            .ToList();
        nodes[0].Resource.Peers.AddRange(nodes.Skip(1).Select(n => n.Resource));
        foreach (var node in nodes.Skip(1))
        {
            var endpoint = node.Resource.PrimaryEndpoint;
            node.WithProbe(builder, $"{node.Resource.Name}-ping", ct => ProtocolProbes.RedisAsync(endpoint, ct));
        }

        var cluster = new RedisClusterBootstrap([.. nodes.Select(n => n.Resource.PrimaryEndpoint)], password);
        return nodes[0].WithProbe(builder, $"{name}-cluster", cluster.CheckAsync);
    }

    private static IResourceBuilder<LocalRedisResource> AddRedisServer(
        this IDistributedApplicationBuilder builder, string name, string directory, ParameterResource password, string appendFsync, int? clusterBusPort)
    {
        // Not proxied: the orchestrator's TCP proxy would copy every byte to and from Redis (about a third of a
        // core under load, see BENCHMARKS.md), and cluster nodes announce their own ports to clients. The port is
        // chosen here instead, and stays the same across restarts.
        var port = FreeLoopbackPort();
        var redis = builder.AddResource(new LocalRedisResource(name, directory, password))
            .WithEndpoint(name: LocalRedisResource.EndpointName, scheme: "tcp", port: port, targetPort: port, isProxied: false);
        var endpoint = redis.Resource.PrimaryEndpoint;

        // Append-only file in a folder the AppHost owns: stopping and starting the resource loses no totals. With
        // appendfsync always (the default, Infrastructure:RedisAppendFsync) Redis answers a write only once it is on
        // disk; the worker acknowledges a broker message only after that answer, so an acknowledged event survives a
        // power cut too. Redis syncs once per turn of its event loop, before it answers, so one fsync covers every
        // command of a pipelined batch of the worker's.
        return redis.WithArgs(context =>
        {
            context.Args.Add("--bind");
            context.Args.Add("127.0.0.1");
            context.Args.Add("--port");
            context.Args.Add(endpoint.Property(EndpointProperty.TargetPort));
            context.Args.Add("--dir");
            context.Args.Add(directory);
            context.Args.Add("--appendonly");
            context.Args.Add("yes");
            context.Args.Add("--appendfsync");
            context.Args.Add(appendFsync);
            // Rewriting the append-only file forks Redis and rewrites the whole data set, taking most of a core for
            // seconds; from the default 64 MB it ran several times a load run and tripled the API's p99 (BENCHMARKS.md).
            context.Args.Add("--auto-aof-rewrite-min-size");
            context.Args.Add("512mb");
            context.Args.Add("--save");
            context.Args.Add("");
            context.Args.Add("--protected-mode");
            context.Args.Add("yes");
            context.Args.Add("--requirepass");
            context.Args.Add(password);
            if (clusterBusPort is { } busPort)
            {
                // The node's cluster state (nodes.conf) lives beside its data, so a restarted node rejoins as itself.
                // The bus port is chosen like the client port: the default (port + 10000) could land in the
                // ephemeral range.
                context.Args.Add("--cluster-enabled");
                context.Args.Add("yes");
                context.Args.Add("--cluster-config-file");
                context.Args.Add(Path.Combine(directory, "nodes.conf"));
                context.Args.Add("--cluster-port");
                context.Args.Add(Invariant(busPort));
                context.Args.Add("--masterauth");
                context.Args.Add(password);
            }
        });
    }

    private static IResourceBuilder<T> WithProbe<T>(
        this IResourceBuilder<T> resource, IDistributedApplicationBuilder builder, string key,
        Func<CancellationToken, Task<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult>> probe)
        where T : IResource
    {
        builder.Services.AddHealthChecks().AddAsyncCheck(key, probe);
        return resource.WithHealthCheck(key);
    }

    public static IResourceBuilder<LocalRabbitMqResource> AddLocalRabbitMq(
        this IDistributedApplicationBuilder builder, string name, RunDataDirectory data)
    {
        RequireBinary("rabbitmq-server", RabbitMqServer, "rabbitmq-server");
        var directory = data.For(name);
        var pluginsFile = Path.Combine(directory, "enabled_plugins");
        File.WriteAllText(pluginsFile, "[].");
        File.WriteAllText(Path.Combine(directory, "rabbitmq.conf"), "loopback_users.guest = true\nlisteners.ssl = none\n");

        // One node name and data folder for the whole run, so durable queues survive a restart of the resource.
        var nodeName = $"llmcost-{Environment.ProcessId}@localhost";
        var epmdPort = StartEpmd();
        data.OnCleanup(() => RunEpmd("-port", Invariant(epmdPort), "-kill"));

        // Not proxied, as Redis above.
        var port = FreeLoopbackPort();
        var rabbit = builder.AddResource(new LocalRabbitMqResource(name, directory))
            .WithEndpoint(name: LocalRabbitMqResource.EndpointName, scheme: "tcp", port: port, targetPort: port, isProxied: false);
        var endpoint = rabbit.Resource.PrimaryEndpoint;
        rabbit
            .WithEnvironment("HOME", directory)
            .WithEnvironment("RABBITMQ_NODENAME", nodeName)
            .WithEnvironment("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .WithEnvironment("RABBITMQ_NODE_PORT", endpoint.Property(EndpointProperty.TargetPort))
            .WithEnvironment("RABBITMQ_DIST_PORT", Invariant(FreeLoopbackPort()))
            .WithEnvironment("ERL_EPMD_ADDRESS", "127.0.0.1")
            .WithEnvironment("ERL_EPMD_PORT", Invariant(epmdPort))
            .WithEnvironment("RABBITMQ_MNESIA_BASE", Path.Combine(directory, "mnesia"))
            .WithEnvironment("RABBITMQ_LOG_BASE", Path.Combine(directory, "log"))
            .WithEnvironment("RABBITMQ_LOGS", "-")
            .WithEnvironment("RABBITMQ_ENABLED_PLUGINS_FILE", pluginsFile)
            .WithEnvironment("RABBITMQ_CONFIG_FILE", Path.Combine(directory, "rabbitmq"));

        return rabbit.WithProbe(builder, $"{name}-amqp", ct => ProtocolProbes.AmqpAsync(endpoint, ct));
    }

    internal static void RequireBinary(string what, string path, string package)
    {
        if (!File.Exists(path))
        {
            throw new DistributedApplicationException(
                $"Infrastructure mode 'executable' needs {what} ({path}), which is missing: Debian package '{package}'. {InstallHint}");
        }
    }

    /// <summary>A free loopback port below Linux's ephemeral range (32768 and up), so that no outgoing connection
    /// can take it between this check and the process binding it (the orchestrator picks its ports the same way).</summary>
    internal static int FreeLoopbackPort()
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var port = Random.Shared.Next(20_000, 32_000);
            try
            {
                using var probe = new TcpListener(IPAddress.Loopback, port);
                probe.Start();
                return port;
            }
            catch (SocketException)
            {
                // Taken: try another.
            }
        }

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    // Erlang's port mapper outlives RabbitMQ. We start our own on a port of its own, relaxed so that it can be
    // stopped while a node is still registered, and stop it at exit: no other run's epmd is touched.
    private static int StartEpmd()
    {
        var port = FreeLoopbackPort();
        RunEpmd("-daemon", "-relaxed_command_check", "-address", "127.0.0.1", "-port", Invariant(port));
        return port;
    }

    private static void RunEpmd(params string[] args)
    {
        try
        {
            using var epmd = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("epmd", args)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
            epmd?.WaitForExit(TimeSpan.FromSeconds(5));
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No epmd on PATH: RabbitMQ starts its own, and nothing of ours is left to stop.
        }
    }

    private static string Invariant(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
