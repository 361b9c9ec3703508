using LlmCostTracker.Ledger;
using LlmCostTracker.Tests.Scripts;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmCostTracker.Tests.Integration;

/// <summary>The Redis the AppHost runs answers a write only once it is on disk (README, "Guarantees").</summary>
[Collection(AppCollection.Name)]
public sealed class RedisDurabilityTests(AppFixture app)
{
    [Fact]
    public async Task The_apps_redis_syncs_every_write_before_it_answers()
    {
        var master = Assert.Single(await RedisDurabilityCheckTests.InspectAsync(app.Redis));
        Assert.Equal(("yes", "always"), (master.AppendOnly, master.AppendFsync));
    }
}

[Collection(ShardedCollection.Name)]
public sealed class ShardedRedisDurabilityTests(ShardedAppFixture app)
{
    [Fact]
    public async Task Every_master_of_the_cluster_syncs_every_write_before_it_answers()
    {
        var masters = await RedisDurabilityCheckTests.InspectAsync(app.Redis);
        Assert.Equal(ShardedAppFixture.Shards, masters.Count);
        Assert.All(masters, master => Assert.Equal(("yes", "always"), (master.AppendOnly, master.AppendFsync)));
    }
}

/// <summary>The start-up check against a real redis-server configured otherwise (the bare one has no append-only
/// file), then set right with CONFIG SET.</summary>
public sealed class RedisDurabilityCheckTests(BareRedis redis) : IClassFixture<BareRedis>
{
    [Fact]
    public async Task A_service_warns_at_start_of_a_redis_that_answers_before_its_writes_are_on_disk()
    {
        var withoutFile = await StartCheckAsync();
        Assert.Contains("appendonly no", Assert.Single(withoutFile, r => r.Level == LogLevel.Warning).Message, StringComparison.Ordinal);

        await ConfigSetAsync("appendonly", "yes");
        await ConfigSetAsync("appendfsync", "everysec");
        var everySecond = await StartCheckAsync();
        Assert.Contains("appendfsync everysec", Assert.Single(everySecond, r => r.Level == LogLevel.Warning).Message, StringComparison.Ordinal);

        await ConfigSetAsync("appendfsync", "always");
        var always = await StartCheckAsync();
        Assert.DoesNotContain(always, r => r.Level >= LogLevel.Warning);
        Assert.True(Assert.Single(await InspectAsync(redis.Connection)).IsDurable);
    }

    internal static Task<IReadOnlyList<RedisDurability>> InspectAsync(IConnectionMultiplexer connection) =>
        new RedisDurabilityCheck(connection, Options.Create(new LedgerOptions()), new FakeLogger<RedisDurabilityCheck>()).InspectAsync();

    private async Task<IReadOnlyList<FakeLogRecord>> StartCheckAsync()
    {
        var logger = new FakeLogger<RedisDurabilityCheck>();
        await new RedisDurabilityCheck(redis.Connection, Options.Create(new LedgerOptions()), logger).StartAsync(CancellationToken.None);
        return logger.Collector.GetSnapshot();
    }

    private async Task ConfigSetAsync(string name, string value)
    {
        // The client may list the node twice (as given and as the cluster announces it): both are this one process.
        var server = redis.Connection.GetServers().First(s => s.IsConnected);
        Assert.Equal("OK", (await server.ExecuteAsync("CONFIG", "SET", name, value)).ToString());
    }
}
