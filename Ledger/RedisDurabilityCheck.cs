using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmCostTracker.Ledger;

/// <summary>What one Redis master says of its append-only file: <c>null</c> settings when it refused to say.</summary>
public sealed record RedisDurability(string EndPoint, string? AppendOnly, string? AppendFsync, string? Refusal)
{
    /// <summary>A write it has answered is on disk: it survives the host losing power.</summary>
    public bool IsDurable => AppendOnly == "yes" && AppendFsync == "always";
}

/// <summary>Warns at start when a Redis master this service writes to answers before its writes are on disk. The
/// worker acknowledges a broker message once Redis has answered the ledger's write, so such a master can lose
/// acknowledged events if its host loses power (README, "Guarantees"). The AppHost's own Redis is configured right;
/// this is for a managed server or one started elsewhere. Never fails the start: a managed Redis may refuse CONFIG,
/// and the ledger works either way.</summary>
public sealed partial class RedisDurabilityCheck(
    IConnectionMultiplexer redis, IOptions<LedgerOptions> options, ILogger<RedisDurabilityCheck> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            foreach (var master in await InspectAsync().WaitAsync(options.Value.StartupCheckTimeout, cancellationToken))
            {
                Report(master);
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            LogUnchecked(logger, ex.Message);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Asks every connected master (each of a cluster's) for <c>appendonly</c> and <c>appendfsync</c>.</summary>
    public async Task<IReadOnlyList<RedisDurability>> InspectAsync()
    {
        var masters = new List<RedisDurability>();
        foreach (var server in redis.GetServers().Where(s => s.IsConnected && !s.IsReplica))
        {
            var endPoint = server.EndPoint.ToString() ?? "";
            try
            {
                // One pattern, not two names: CONFIG GET takes several names only from Redis 7.
                var settings = (await server.ExecuteAsync("CONFIG", "GET", "append*")).ToDictionary();
                masters.Add(new RedisDurability(endPoint, Setting(settings, "appendonly"), Setting(settings, "appendfsync"), null));
            }
            catch (RedisServerException ex)
            {
                // Managed servers rename or forbid CONFIG (or the user lacks the ACL): nothing can be read.
                masters.Add(new RedisDurability(endPoint, null, null, ex.Message));
            }
        }

        return masters;
    }

    private static string? Setting(Dictionary<string, RedisResult> settings, string name) =>
        settings.TryGetValue(name, out var value) ? value.ToString().ToLowerInvariant() : null;

    private void Report(RedisDurability master)
    {
        if (master.Refusal is not null)
        {
            LogRefused(logger, master.EndPoint, master.Refusal);
        }
        else if (master.AppendOnly != "yes")
        {
            LogNoAppendOnlyFile(logger, master.EndPoint);
        }
        else if (!master.IsDurable)
        {
            LogLateFsync(logger, master.EndPoint, master.AppendFsync ?? "(unknown)");
        }
        else
        {
            LogDurable(logger, master.EndPoint);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis {EndPoint} runs without its append-only file (appendonly no): " +
        "acknowledged events written since its last snapshot are lost when it restarts. Set appendonly yes and appendfsync always (README: Guarantees).")]
    private static partial void LogNoAppendOnlyFile(ILogger logger, string endPoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis {EndPoint} runs with appendfsync {AppendFsync}: it answers before a write is on disk, " +
        "so events already acknowledged can be lost if its host loses power. Set appendfsync always (README: Guarantees).")]
    private static partial void LogLateFsync(ILogger logger, string endPoint, string appendFsync);

    [LoggerMessage(Level = LogLevel.Information, Message = "Redis {EndPoint} did not say how it persists writes ({Refusal}); " +
        "whether acknowledged events survive a power cut depends on its settings (README: Guarantees).")]
    private static partial void LogRefused(ILogger logger, string endPoint, string refusal);

    [LoggerMessage(Level = LogLevel.Information, Message = "Could not check how Redis persists writes ({Reason}); " +
        "whether acknowledged events survive a power cut depends on its settings (README: Guarantees).")]
    private static partial void LogUnchecked(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Redis {EndPoint} has each write on disk before it answers (appendfsync always).")]
    private static partial void LogDurable(ILogger logger, string endPoint);
}
