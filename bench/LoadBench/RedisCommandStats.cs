using System.Globalization;
using StackExchange.Redis;

namespace LlmCostTracker.LoadBench;

/// <summary>Redis's own account of a phase (<c>INFO commandstats</c>, reset at the phase's start), summed over every
/// node: how many script calls the ledger made, how many events each carried, and how the time inside them splits
/// between the commands the scripts run and the scripts' own Lua (issue #36's target for the ledger's scripts).
/// Redis times a command by the wall clock, so on a saturated box its figures include time Redis was descheduled.</summary>
public sealed class RedisCommandStats(string connectionString) : IAsyncDisposable
{
    private const string Prefix = "cmdstat_";
    private static readonly string[] Scripts = ["evalsha", "eval", "evalsha_ro", "eval_ro", "fcall"];
    private ConnectionMultiplexer? _redis;

    public async Task ResetAsync()
    {
        foreach (var server in await ServersAsync())
        {
            await server.ConfigResetStatisticsAsync();
        }
    }

    /// <summary>The stats since <see cref="ResetAsync"/>, over <paramref name="events"/> events. Commands the scripts
    /// run and those sent directly (the rollup writer's stream reads, the reports' reads) cannot be told apart here,
    /// so the Lua's share is a lower bound.</summary>
    public async Task<string> DescribeAsync(long events)
    {
        var calls = new Dictionary<string, (long Calls, long Micros)>();
        foreach (var server in await ServersAsync())
        {
            foreach (var group in await server.InfoAsync("commandstats"))
            {
                foreach (var (key, value) in group)
                {
                    if (!key.StartsWith(Prefix, StringComparison.Ordinal))
                    {
                        continue;
                    }

                    var fields = value.Split(',').Select(f => f.Split('=')).Where(f => f.Length == 2).ToDictionary(f => f[0], f => f[1]);
                    var name = key[Prefix.Length..];
                    var (c, u) = calls.GetValueOrDefault(name);
                    calls[name] = (c + long.Parse(fields["calls"], CultureInfo.InvariantCulture), u + long.Parse(fields["usec"], CultureInfo.InvariantCulture));
                }
            }
        }

        // What this class and the connection's handshake sent is left out; the report reads the benchmark polls while it
        // waits for exact totals cannot be told apart and stay in (hence "at least" for the Lua).
        foreach (var own in new[] { "config|resetstat", "info", "ping", "auth", "select", "hello", "client|setname", "cluster|nodes", "echo" })
        {
            calls.Remove(own);
        }

        var scripts = calls.Where(c => Scripts.Contains(c.Key)).ToList();
        var scriptCalls = scripts.Sum(c => c.Value.Calls);
        var scriptMicros = scripts.Sum(c => c.Value.Micros);
        var inner = calls.Where(c => !Scripts.Contains(c.Key)).OrderByDescending(c => c.Value.Micros).ToList();
        var innerMicros = inner.Sum(c => c.Value.Micros);
        var perEvent = (double)Math.Max(1, events);
        var top = string.Join(", ", inner.Take(6).Select(c => $"{c.Key.ToUpperInvariant()} {c.Value.Calls / perEvent:N2} × {(double)c.Value.Micros / Math.Max(1, c.Value.Calls):N1} µs"));
        return $"{scriptCalls:N0} script calls ({events / Math.Max(1.0, scriptCalls):N0} events a call) taking {scriptMicros / perEvent:N1} µs an event; "
            + $"the commands inside them and beside them {innerMicros / perEvent:N1} µs an event ({inner.Sum(c => c.Value.Calls) / perEvent:N2} commands an event; by time: {top}), "
            + $"so the scripts' own Lua at least {Math.Max(0, scriptMicros - innerMicros) / perEvent:N1} µs an event (wall clock inside Redis)";
    }

    private async Task<IEnumerable<IServer>> ServersAsync()
    {
        if (_redis is null)
        {
            var options = ConfigurationOptions.Parse(connectionString);
            options.AllowAdmin = true;
            _redis = await ConnectionMultiplexer.ConnectAsync(options);
        }

        return _redis.GetServers().Where(s => !s.IsReplica);
    }

    public async ValueTask DisposeAsync()
    {
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }
}
