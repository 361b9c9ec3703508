using System.Diagnostics;
using System.Globalization;
using LlmCostTracker.Contracts;
using LlmCostTracker.Ledger;
using LlmCostTracker.WorkerService.Aggregation;
using LlmCostTracker.WorkerService.Chunks;
using Microsoft.Extensions.Options;

namespace LlmCostTracker.MicroBench;

/// <summary>Redis's CPU an event for the ledger's writes, on an idle box (issue #36's figure to drive): a redis-server
/// of its own, ledger writes as the worker makes them under single-event load (each event its user's only one in the
/// write, users drawn from a pool so most months already exist), and the server's user + kernel time from /proc
/// over the events written. <c>ledger-cpu [events a write (2048)] [writes a round (100)] [rounds (5)] [users (2000)]</c>.
/// A write of 2,048 events spreads over the 16 buckets: 16 script calls of about 128 events, as the load benchmark's
/// single-event phase makes them. With 200 users each user has about ten events in a write, as in batches.
/// <para><c>--against path/to/section.lua [more sections]</c> compares a change to sections of <c>apply-usage</c> with the
/// built script, writes alternating between the two on the same server (this machine's speed drifts too much
/// between runs to compare runs): Redis's CPU is read around every write and summed per side. The change must keep
/// the script's behaviour (the ledger's script tests prove that once it is in place).</para>
/// <para><c>--both-forms</c> writes as the worker does while a ledger's claim form changes (<see cref="ClaimWindow"/>):
/// every claim checked and taken in both forms.</para>
/// <para><c>--server-against "--name value ..."</c> compares a redis-server setting: a second server started with those
/// arguments, writes alternating between the two (each server's CPU read around its own writes), and each server's
/// memory at the end.</para></summary>
public static class LedgerCpuBench
{
    private static readonly string[] Models =
        ["gpt-4o", "gpt-4o-mini", "gpt-4-turbo", "gpt-3.5-turbo", "claude-3-haiku", "claude-3-5-sonnet", "claude-3-opus", "my-finetune"];

    public static async Task RunAsync(string[] args)
    {
        var bothForms = args.Contains("--both-forms");
        args = [.. args.Where(a => a != "--both-forms")];
        var serverAt = Array.IndexOf(args, "--server-against");
        var serverConfig = serverAt >= 0 ? args[serverAt + 1] : null;
        args = serverAt >= 0 ? [.. args[..serverAt], .. args[(serverAt + 2)..]] : args;
        var at = Array.IndexOf(args, "--against");
        string[]? against = at >= 0 ? args[(at + 1)..] : null;
        args = at >= 0 ? args[..at] : args;
        int Arg(int index, int fallback) => args.Length > index ? int.Parse(args[index], CultureInfo.InvariantCulture) : fallback;
        var (eventsPerWrite, writes, rounds, users) = (Arg(1, 2048), Arg(2, 100), Arg(3, 5), Arg(4, 2000));
        using var redis = new LocalRedisServer();
        var keys = new LedgerKeys(LedgerKeys.DefaultBuckets);
        var budgets = new BudgetOptions { ThresholdsPercent = [50, 80, 100] };
        var (defaultBudget, thresholds, claims) = (budgets.DefaultMonthlyBudgetMicros, budgets.ThresholdsPercent, new ClaimWindow(new LedgerOptions().DedupWindow));
        if (bothForms)
        {
            claims.FormChangedAt(DateTimeOffset.UtcNow);
        }

        using var other = serverConfig is null ? null : new LocalRedisServer(serverConfig);
        CostLedger LedgerOn(LocalRedisServer server) =>
            new(server.Connection, keys, Options.Create(budgets), Options.Create(new LedgerOptions()), TimeProvider.System, claims: claims);
        var ledger = LedgerOn(redis);
        var otherLedger = other is null ? null : LedgerOn(other);
        var sequence = 0L;
        var random = new Random(36);

        async Task WriteAsync(string? script = null, CostLedger? on = null)
        {
            var now = DateTimeOffset.UtcNow;
            var events = new PricedUsage[eventsPerWrite];
            var first = random.Next(users);
            for (var i = 0; i < events.Length; i++)
            {
                var n = ++sequence;
                events[i] = new PricedUsage(new LlmUsage
                {
                    EventId = $"e{n}", UserId = $"user{(first + i) % users}", Model = Models[n % Models.Length], InputTokens = 1_200 + (int)(n % 997),
                    CachedInputTokens = 200, OutputTokens = 350, OccurredAt = now,
                }, 5_250);
            }

            if (script is null)
            {
                await (on ?? ledger).ApplyAsync(events);
                return;
            }

            // The calls CostLedger makes, with another script text.
            var db = redis.Connection.GetDatabase();
            await Task.WhenAll(LedgerChunk.Plan(keys, events, CostLedger.ChunkEvents).Select(chunk =>
            {
                var call = ApplyUsageCall.Encode(keys, chunk, events, defaultBudget, thresholds, claims, now);
                return db.ScriptEvaluateAsync(script, call.Keys, call.Args);
            }));
        }

        // Warm: the scripts loaded, every user's month created, the client's code at tier 1.
        for (var w = 0; w < Math.Max(20, users / eventsPerWrite * 4); w++)
        {
            await WriteAsync();
            if (otherLedger is not null)
            {
                await WriteAsync(on: otherLedger);
            }
        }

        if (other is not null)
        {
            await CompareServersAsync(redis, other, side => WriteAsync(on: side ? otherLedger : ledger), serverConfig!, eventsPerWrite, writes * rounds, users);
            return;
        }

        if (against is not null)
        {
            await CompareAsync(redis, script => WriteAsync(script), against, eventsPerWrite, writes * rounds);
            return;
        }

        Console.WriteLine($"ledger writes of {eventsPerWrite:N0} events over {users:N0} users ({LedgerKeys.DefaultBuckets} buckets), {writes} writes a round, one at a time");
        Console.WriteLine("| round | events/s | Redis CPU an event | script time an event (commandstats) |");
        Console.WriteLine("| --- | --- | --- | --- |");
        var perEvent = new List<double>();
        for (var round = 1; round <= rounds; round++)
        {
            await redis.Server.ConfigResetStatisticsAsync();
            var cpu = redis.ProcessorTime;
            var clock = Stopwatch.StartNew();
            for (var w = 0; w < writes; w++)
            {
                await WriteAsync();
            }

            var elapsed = clock.Elapsed;
            var used = redis.ProcessorTime - cpu;
            var events = (double)writes * eventsPerWrite;
            var stats = (await redis.Server.InfoAsync("commandstats")).SelectMany(g => g)
                .Select(kv => (Name: kv.Key.Replace("cmdstat_", "", StringComparison.Ordinal).ToUpperInvariant(),
                    Micros: long.Parse(kv.Value.Split(',').Select(f => f.Split('=')).First(f => f[0] == "usec")[1], CultureInfo.InvariantCulture)))
                .ToList();
            var scripts = stats.Where(c => c.Name is "EVALSHA" or "EVAL").Sum(c => c.Micros);
            var commands = string.Join(", ", stats.Where(c => c.Name is not ("EVALSHA" or "EVAL")).OrderByDescending(c => c.Micros).Take(5).Select(c => $"{c.Name} {c.Micros / events:N2}"));
            perEvent.Add(used.TotalMicroseconds / events);
            Console.WriteLine($"| {round} | {events / elapsed.TotalSeconds:N0} | {perEvent[^1]:N2} µs | {scripts / events:N2} µs, of it in commands (µs an event): {commands} |");
        }

        perEvent.Sort();
        Console.WriteLine($"Redis CPU an event: median {perEvent[perEvent.Count / 2]:N2} µs, lowest {perEvent[0]:N2}, highest {perEvent[^1]:N2}");
    }

    /// <summary>Writes alternating between a default redis-server (A) and one started with <paramref name="config"/>
    /// (B), each server's CPU read around its own writes; then each one's memory a user.</summary>
    private static async Task CompareServersAsync(LocalRedisServer a, LocalRedisServer b, Func<bool, Task> write, string config, int eventsPerWrite, int pairs, int users)
    {
        var (cpuA, cpuB) = await AlternateAsync(pairs, write, side => side ? b : a);

        static async Task<long> MemoryAsync(LocalRedisServer server) => long.Parse(
            (await server.Server.InfoAsync("memory")).SelectMany(g => g).First(kv => kv.Key == "used_memory").Value, CultureInfo.InvariantCulture);
        var events = (double)pairs * eventsPerWrite;
        Console.WriteLine($"{pairs} writes of {eventsPerWrite:N0} events a side, alternating: Redis CPU an event, default {cpuA.TotalMicroseconds / events:N2} µs, "
            + $"with {config} {cpuB.TotalMicroseconds / events:N2} µs ({(cpuB - cpuA) / cpuA:+0.0%;-0.0%}); memory a user (used_memory / {users:N0}, "
            + $"claims included): {await MemoryAsync(a) / (double)users:N0} and {await MemoryAsync(b) / (double)users:N0} bytes");
    }

    /// <summary>Writes alternating between the built script (A) and the one with the sections of
    /// <paramref name="sectionPaths"/> in place of the built ones (B), Redis's CPU read around each write.</summary>
    private static async Task CompareAsync(LocalRedisServer redis, Func<string?, Task> write, string[] sectionPaths, int eventsPerWrite, int pairs)
    {
        var built = ApplyUsageCall.Script.Text;
        var changed = built;
        foreach (var sectionPath in sectionPaths)
        {
            var section = Path.GetFileName(sectionPath);
            using var stream = typeof(RedisScript).Assembly.GetManifestResourceStream(section)
                ?? throw new InvalidOperationException($"{section} is not a section of the ledger's scripts.");
            using var reader = new StreamReader(stream);
            var original = await reader.ReadToEndAsync();
            if (built.IndexOf(original, StringComparison.Ordinal) is var at && (at < 0 || built.IndexOf(original, at + 1, StringComparison.Ordinal) >= 0))
            {
                throw new InvalidOperationException($"{section} is not once in apply-usage.");
            }

            changed = changed.Replace(original, await File.ReadAllTextAsync(sectionPath), StringComparison.Ordinal);
        }

        var name = string.Join(" and ", sectionPaths.Select(Path.GetFileName));
        var from = string.Join(", ", sectionPaths.Select(Path.GetDirectoryName).Distinct());
        var (a, b) = await AlternateAsync(pairs, side => write(side ? changed : built), _ => redis);

        var events = (double)pairs * eventsPerWrite;
        Console.WriteLine($"{pairs} writes of {eventsPerWrite:N0} events a side, alternating: Redis CPU an event, built {a.TotalMicroseconds / events:N2} µs, "
            + $"with {name} from {from} {b.TotalMicroseconds / events:N2} µs ({(b - a) / a:+0.0%;-0.0%})");
    }

    /// <summary>Writes of side A (false) and side B (true) in turn, which side goes first alternating too so neither
    /// always follows the other; each side's CPU is its server's, read around its own writes.</summary>
    private static async Task<(TimeSpan A, TimeSpan B)> AlternateAsync(int pairs, Func<bool, Task> write, Func<bool, LocalRedisServer> serverOf)
    {
        var (a, b) = (TimeSpan.Zero, TimeSpan.Zero);
        for (var pair = 0; pair < pairs; pair++)
        {
            foreach (var side in pair % 2 == 0 ? new[] { false, true } : [true, false])
            {
                var server = serverOf(side);
                var before = server.ProcessorTime;
                await write(side);
                var used = server.ProcessorTime - before;
                (a, b) = side ? (a, b + used) : (a + used, b);
            }
        }

        return (a, b);
    }
}
