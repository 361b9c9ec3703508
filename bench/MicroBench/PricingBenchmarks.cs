using BenchmarkDotNet.Attributes;
using LlmCostTracker.Contracts.Pricing;

namespace LlmCostTracker.MicroBench;

/// <summary>Model id resolution against a catalog of 500+ entries (the shipped one plus generated custom models):
/// cached (as the worker resolves an id it has seen) and first time (a fresh book each call: the uncached work plus
/// building the index, so an upper bound).</summary>
[MemoryDiagnoser]
public class PricingBenchmarks
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private PriceBook _book = null!;
    private PriceEntry[] _entries = null!;
    private int _fresh;

    [Params("gpt-5", "openai/gpt-4o", "us.anthropic.claude-haiku-4-5-20251001-v1:0", "gpt-4.1-mini-2025-04-14", "some-unknown-model")]
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

    /// <summary>A model id never seen by this book: the resolution walk (exact, prefix forms, 500+ families longest
    /// first) on a book built once.</summary>
    [Benchmark]
    public PriceQuote QuoteFirstTime() => _book.Quote($"{Model}#{_fresh++}", null, null, 1_000, Now);

    [Benchmark]
    public long CostMicros() => PriceBook.CostMicros(new Rates(2.5m, 1.25m, 2.5m, 10m, 10m), 1_200, 200, 0, 350, 0);
}
