using BenchmarkDotNet.Attributes;
using LlmCostTracker.Contracts;
using LlmCostTracker.Ledger;
using LlmCostTracker.WorkerService.Aggregation;
using LlmCostTracker.WorkerService.Chunks;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmCostTracker.MicroBench;

/// <summary>The Redis aggregation against a real redis-server (started here on a free loopback port, no
/// persistence): a write of one event, of 1,000 events over 100 users, and of 20,000 events over 2,000 users (what
/// the worker's batcher writes at once under load), eight models in turn, untagged and tagged.</summary>
[MemoryDiagnoser]
public class LedgerBenchmarks
{
    private LocalRedisServer _redis = null!;
    private CostLedger _ledger = null!;
    private long _sequence;

    private static readonly string[] Models =
        ["gpt-4o", "gpt-4o-mini", "gpt-4-turbo", "gpt-3.5-turbo", "claude-3-haiku", "claude-3-5-sonnet", "claude-3-opus", "my-finetune"];

    [Params(1, 1_000, 20_000)]
    public int EventsPerMessage { get; set; }

    /// <summary>Three tags on every event, as the load benchmark's <c>--tags</c>: a team of 50, a feature of 20 and an
    /// environment of 3 (the cap and tag budgets are the worker's, around the ledger write, and not measured here).</summary>
    [Params(false, true)]
    public bool Tagged { get; set; }

    private static readonly string[] Environments = ["prod", "staging", "dev"];

    [GlobalSetup]
    public void Setup()
    {
        _redis = new LocalRedisServer();
        _ledger = new CostLedger(_redis.Connection, new LedgerKeys(LedgerKeys.DefaultBuckets), Options.Create(new BudgetOptions { ThresholdsPercent = [80, 100] }),
            Options.Create(new LedgerOptions()), TimeProvider.System);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _redis.Dispose();
    }

    [Benchmark]
    public Task<LedgerResult> ApplyMessage()
    {
        var now = DateTimeOffset.UtcNow;
        var events = new PricedUsage[EventsPerMessage];
        for (var i = 0; i < events.Length; i++)
        {
            var n = Interlocked.Increment(ref _sequence);
            events[i] = new PricedUsage(new LlmUsage
            {
                EventId = $"e{n}", UserId = $"user{n % Math.Max(1, EventsPerMessage / 10)}", Model = Models[n % Models.Length], InputTokens = 1_200, CachedInputTokens = 200,
                OutputTokens = 350, OccurredAt = now,
                Tags = Tagged ? new Dictionary<string, string> { ["team"] = $"team-{n % 50}", ["feature"] = $"feature-{n / 7 % 20}", ["environment"] = Environments[n / 3 % 3] } : null,
            }, 5_250);
        }

        return _ledger.ApplyAsync(events);
    }
}
