using BenchmarkDotNet.Attributes;
using LlmCostTracker.WorkerService.Pricing;
using Microsoft.Extensions.Configuration;

namespace LlmCostTracker.MicroBench;

[MemoryDiagnoser]
public class PricingBenchmarks
{
    private UsagePricing _pricing = null!;
    private ModelPrice _price = null!;

    [Params("gpt-4o", "openai/gpt-4o", "gpt-4o-mini-2024-07-18", "some-unknown-model")]
    public string Model { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var options = new ConfigurationBuilder().AddJsonFile(Path.Combine(AppContext.BaseDirectory, "worker.appsettings.json")).Build()
            .GetSection(PricingOptions.SectionName).Get<PricingOptions>()!;
        _pricing = new UsagePricing(options);
        _price = _pricing.Resolve("gpt-4o").Price;
    }

    /// <summary>Resolution as the worker does it: after the first call, from the bounded cache.</summary>
    [Benchmark]
    public PriceResolution Resolve() => _pricing.Resolve(Model);

    /// <summary>Resolution from scratch (exact, unprefixed, longest family).</summary>
    [Benchmark]
    public PriceResolution ResolveUncached() => new UsagePricing(new PricingOptions { Models = { ["gpt-4o"] = _price, ["gpt-4o-mini"] = _price, ["gpt-4"] = _price }, Fallback = _price }).Resolve(Model);

    [Benchmark]
    public long CostMicros() => UsagePricing.CostMicros(_price, 1_200, 200, 350);
}
