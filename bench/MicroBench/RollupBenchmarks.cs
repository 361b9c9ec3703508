using BenchmarkDotNet.Attributes;
using LlmCostTracker.Contracts;
using LlmCostTracker.History.Rollups;

namespace LlmCostTracker.MicroBench;

/// <summary>The history's rollup deltas (#35): the worker building and encoding one ledger call's delta, and the
/// rollup writer adding a round's entries up. Shaped as the load benchmark's batches: 781 events a call, each its
/// user's only one (2,000 users), eight models; 20 entries a round here (the writer takes up to 500).</summary>
[MemoryDiagnoser]
public class RollupBenchmarks
{
    private const int Entries = 20;

    private static readonly string[] Models =
        ["gpt-4o", "gpt-4o-mini", "gpt-4-turbo", "gpt-3.5-turbo", "claude-3-haiku", "claude-3-5-sonnet", "claude-3-opus", "my-finetune"];

    [Params(781)]
    public int EventsPerCall { get; set; }

    private LlmUsage[][] _calls = null!;
    private byte[][] _encoded = null!;

    [GlobalSetup]
    public void Setup()
    {
        var now = new DateTimeOffset(2026, 12, 6, 10, 0, 0, TimeSpan.Zero);
        var n = 0;
        _calls = new LlmUsage[Entries][];
        _encoded = new byte[Entries][];
        for (var c = 0; c < Entries; c++)
        {
            _calls[c] = new LlmUsage[EventsPerCall];
            for (var i = 0; i < EventsPerCall; i++, n++)
            {
                _calls[c][i] = new LlmUsage
                {
                    EventId = $"e{n}", UserId = $"user-{n % 2_000:D5}", Model = Models[n % Models.Length], InputTokens = 1_200 + n % 300, CachedInputTokens = 200,
                    OutputTokens = 350 + n % 100, OccurredAt = now,
                };
            }

            _encoded[c] = Encode(_calls[c]);
        }

        Console.WriteLine($"// an entry of {EventsPerCall} events: {_encoded[0].Length:N0} bytes");
    }

    private static byte[] Encode(LlmUsage[] events)
    {
        var delta = new RollupDeltaBuilder(events.Length);
        foreach (var e in events)
        {
            delta.Add(e, 1_234 + e.InputTokens, "openai", "default", 0);
        }

        return delta.Encode();
    }

    /// <summary>The worker's part, per call (divide by the events a call for a figure an event).</summary>
    [Benchmark]
    public byte[] BuildAndEncode() => Encode(_calls[0]);

    /// <summary>The writer's part, per round of <see cref="Entries"/> entries.</summary>
    [Benchmark]
    public int AddUpRound()
    {
        var delta = new RollupDelta();
        foreach (var entry in _encoded)
        {
            delta.AddEncoded(entry);
        }

        return delta.Usage.Count;
    }
}
