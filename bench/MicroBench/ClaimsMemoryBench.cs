using System.Diagnostics;
using System.Globalization;
using LlmCostTracker.Contracts;
using LlmCostTracker.Ledger;
using LlmCostTracker.WorkerService.Aggregation;
using LlmCostTracker.WorkerService.Chunks;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmCostTracker.MicroBench;

/// <summary>Redis memory under the dedup window: writes events through the real ledger script into a bare
/// redis-server, their arrival spread over a longer time than the window, and prints <c>used_memory</c> and the
/// claims held as it goes. Real time (Redis expires keys by its own clock), so the window is short: the mechanism
/// does not depend on its length (a quarter-window period, sets expiring a window after it).
/// <c>dotnet run -c Release --project bench/MicroBench -- claims [--events N] [--window-seconds S] [--seconds S]</c></summary>
public static class ClaimsMemoryBench
{
    public static async Task RunAsync(string[] args)
    {
        var events = Option(args, "--events", 2_000_000);
        var window = TimeSpan.FromSeconds(Option(args, "--window-seconds", 60));
        var duration = TimeSpan.FromSeconds(Option(args, "--seconds", 180));
        const int perWrite = 2_000;
        const int users = 10_000;
        string[] models = ["gpt-5", "gpt-4.1-mini", "claude-sonnet-4-5", "gemini-2.5-flash"];

        using var redis = new LocalRedisServer();
        var keys = new LedgerKeys(LedgerKeys.DefaultBuckets);
        // Built directly, below Ledger:DedupWindow's one-hour minimum, to see the plateau in minutes.
        var ledger = new CostLedger(redis.Connection, keys, Options.Create(new BudgetOptions { DefaultMonthlyBudgetUsd = 0 }),
            Options.Create(new LedgerOptions { DedupWindow = window }), TimeProvider.System);
        var claims = new ClaimWindow(window);
        Console.WriteLine($"{events:N0} events, {users:N0} users, window {window.TotalSeconds:N0} s (periods of {claims.PeriodSeconds} s), arrival spread over {duration.TotalSeconds:N0} s");
        Console.WriteLine("| elapsed (s) | events written | claims held | used_memory (MiB) |");
        Console.WriteLine("| --- | --- | --- | --- |");

        var clock = Stopwatch.StartNew();
        var writes = events / perWrite;
        var nextSample = TimeSpan.Zero;
        var samples = new List<(double Seconds, long Claims, long Bytes)>();
        for (var w = 0; w < writes; w++)
        {
            var due = duration * w / writes;
            if (clock.Elapsed < due)
            {
                await Task.Delay(due - clock.Elapsed);
            }

            var now = DateTimeOffset.UtcNow;
            var batch = new PricedUsage[perWrite];
            for (var i = 0; i < perWrite; i++)
            {
                var n = (long)w * perWrite + i;
                batch[i] = new PricedUsage(new LlmUsage
                {
                    EventId = $"chatcmpl-{n:D12}", UserId = $"user-{n % users}", Model = models[n % models.Length],
                    InputTokens = 1_200, CachedInputTokens = 200, OutputTokens = 350, OccurredAt = now,
                }, 5_250);
            }

            await ledger.ApplyAsync(batch);
            if (clock.Elapsed >= nextSample || w == writes - 1)
            {
                samples.Add(await SampleAsync(redis, keys, claims, clock.Elapsed.TotalSeconds, (long)(w + 1) * perWrite));
                nextSample += TimeSpan.FromSeconds(10);
            }
        }

        // Bytes a claim: the memory the claims add while the first window fills (everything else is in place by then).
        var first = samples.First(s => s.Seconds >= 5);
        var full = samples.Last(s => s.Seconds <= window.TotalSeconds);
        Console.WriteLine();
        Console.WriteLine($"bytes per claim while the window fills: {(full.Bytes - first.Bytes) / (double)Math.Max(1, full.Claims - first.Claims):N1}");
        var plateau = samples.Where(s => s.Seconds >= (window + claims.Period).TotalSeconds).ToList();
        if (plateau.Count > 1)
        {
            Console.WriteLine($"once the window is full ({plateau.Count} samples): used_memory {plateau.Min(s => s.Bytes) / 1048576.0:N1}–{plateau.Max(s => s.Bytes) / 1048576.0:N1} MiB, claims held {plateau.Min(s => s.Claims):N0}–{plateau.Max(s => s.Claims):N0}");
        }
    }

    private static async Task<(double, long, long)> SampleAsync(LocalRedisServer redis, LedgerKeys keys, ClaimWindow claims, double seconds, long written)
    {
        var db = redis.Connection.GetDatabase();
        var period = claims.PeriodOf(DateTimeOffset.UtcNow);
        long held = 0;
        for (var bucket = 0; bucket < keys.Buckets; bucket++)
        {
            for (var p = 0; p <= claims.PeriodsChecked; p++)
            {
                held += await db.SetLengthAsync(keys.Claims(bucket, claims.KeyPart(period - p)));
            }
        }

        var info = (await redis.Server.InfoAsync("memory")).SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value);
        var bytes = long.Parse(info["used_memory"], CultureInfo.InvariantCulture);
        Console.WriteLine($"| {seconds:N0} | {written:N0} | {held:N0} | {bytes / 1048576.0:N1} |");
        return (seconds, held, bytes);
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
