using BenchmarkDotNet.Attributes;
using LlmCostTracker.Pricing;

namespace LlmCostTracker.MicroBench;

/// <summary>Model id resolution against the generated catalog (~1,900 models) plus 500 custom models: cached (as the
/// worker resolves an id it has seen) and first time (an id this book has not seen: every form the resolution tries,
/// exact, routing prefix, cloud and snapshot forms).</summary>
[MemoryDiagnoser]
public class PricingBenchmarks
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private PriceBook _book = null!;
    private PriceEntry[] _entries = null!;
    private int _fresh;

    [Params("gpt-5.4", "azure/gpt-4o", "apac.anthropic.claude-opus-4-8-v1:0", "vertex_ai/claude-opus-4-6@20260205", "claude-opus-4-7-20260501", "some-unknown-model")]
    public string Model { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var custom = Enumerable.Range(0, 500).Select(i => new PriceEntry
        {
            Provider = "custom", Id = $"acme-finetune-{i}", EffectiveFrom = PricingOptions.Always, Input = 1, Output = 2,
        });
        _entries = [.. PriceCatalog.Shipped().Models, .. custom];
        _book = Build();
    }

    private PriceBook Build() => new(_entries, PriceCatalog.Shipped().ProviderTiers, PriceCatalog.Shipped().Fallback);

    [Benchmark]
    public PriceQuote QuoteCached() => _book.Quote(Model, null, null, 1_000, Now);

    /// <summary>A model id never seen by this book: the resolution walk on a book built once. The suffix makes the
    /// exact lookups miss at every step, so this is the unknown id's (longest) walk for each shape.</summary>
    [Benchmark]
    public PriceQuote QuoteFirstTime() => _book.Quote($"{Model}#{_fresh++}", null, null, 1_000, Now);

    /// <summary>The id itself, first time: the walk that finds it, without the cache.</summary>
    [Benchmark]
    public (PriceEntry[]? History, string Match) ResolveFirstTime() => _book.ResolveUncached(Model, null);

    /// <summary>An event's cost with cache reads (every dimension priced).</summary>
    [Benchmark]
    public long CostMicros() => PriceBook.CostMicros(new Rates(2.5m, 1.25m, 2.5m, 10m, 10m, 2.5m, 2.5m, 10m), 1_200, 200, 0, 350, 0);

    /// <summary>An event's cost with text input and output only, as most calls report.</summary>
    [Benchmark]
    public long CostMicrosInputOutput() => PriceBook.CostMicros(new Rates(2.5m, 1.25m, 2.5m, 10m, 10m, 2.5m, 2.5m, 10m), 1_200, 0, 0, 350, 0);
}
