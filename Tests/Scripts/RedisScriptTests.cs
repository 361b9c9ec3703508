using LlmCostTracker.Ledger;
using StackExchange.Redis;

namespace LlmCostTracker.Tests.Scripts;

/// <summary><see cref="RedisScript.EvaluateAsync"/>: a script runs by its hash, and by its text where the server has
/// lost it. On a bare redis-server of this class's own (the test flushes its scripts).</summary>
public sealed class RedisScriptTests(BareRedis redis) : IClassFixture<BareRedis>
{
    private static readonly RedisScript Script = LedgerLayoutCheck.Script;

    private IServer Server => redis.Connection.GetServer(redis.Connection.GetEndPoints()[0]);

    // The claim form's time: 0, as the first call creates this ledger.
    private async Task<string?> RunAsync() =>
        (string?)((RedisValue[])(await Script.EvaluateAsync(redis.Db, [LedgerKeys.LayoutKey, LedgerKeys.ClaimFormKey], [16, 1_000]))!)[1];

    /// <summary>Calls of <paramref name="command"/> since the last CONFIG RESETSTAT, and how many of them failed.</summary>
    private async Task<(long Calls, long Failed)> CallsAsync(string command)
    {
        var stats = (await Server.ExecuteAsync("INFO", "commandstats")).ToString();
        var line = stats.Split('\n').FirstOrDefault(l => l.StartsWith($"cmdstat_{command}:", StringComparison.Ordinal));
        return line is null ? (0, 0) : (Count(line, "calls="), Count(line, "failed_calls="));
    }

    private static long Count(string line, string name) =>
        long.Parse(line.Split(name)[1].Split(',')[0], System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task A_script_runs_by_its_hash_and_is_loaded_from_its_text_where_the_server_lost_it()
    {
        // The hash is Redis's own name for the text.
        Assert.Equal(Script.Hash, await Server.ScriptLoadAsync(Script.Text));

        Assert.Equal("OK", (await Server.ExecuteAsync("SCRIPT", "FLUSH")).ToString());
        Assert.Equal("OK", (await Server.ExecuteAsync("CONFIG", "RESETSTAT")).ToString());
        Assert.Equal("0", await RunAsync());
        // Refused by hash (NOSCRIPT), then loaded from the text and run.
        Assert.Equal((1, 1), await CallsAsync("evalsha"));
        Assert.Equal((1, 0), await CallsAsync("script|load"));
        Assert.Equal(1, (long)(await Server.ExecuteAsync("SCRIPT", "EXISTS", Convert.ToHexStringLower(Script.Hash)))[0]);

        Assert.Equal("OK", (await Server.ExecuteAsync("CONFIG", "RESETSTAT")).ToString());
        Assert.Equal("0", await RunAsync());
        // Known now: one EVALSHA, no text sent.
        Assert.Equal((1, 0), await CallsAsync("evalsha"));
        Assert.Equal((0, 0), await CallsAsync("script|load"));
        Assert.Equal((0, 0), await CallsAsync("eval"));
    }
}
