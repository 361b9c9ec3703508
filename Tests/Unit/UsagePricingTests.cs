using LlmCostTracker.WorkerService.Pricing;
using Microsoft.Extensions.Configuration;

namespace LlmCostTracker.Tests.Unit;

public sealed class UsagePricingTests
{
    /// <summary>The shipped price list, read from the worker's own appsettings.json.</summary>
    public static PricingOptions ShippedPrices()
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "worker.appsettings.json"))
            .Build();
        return configuration.GetSection(PricingOptions.SectionName).Get<PricingOptions>()!;
    }

    private readonly UsagePricing _pricing = new(ShippedPrices());

    [Theory]
    [InlineData("gpt-4", 30, 60, 30)]
    [InlineData("gpt-4-turbo", 10, 30, 10)]
    [InlineData("gpt-4o", 2.50, 10, 1.25)]
    [InlineData("gpt-4o-mini", 0.15, 0.60, 0.075)]
    [InlineData("gpt-3.5-turbo", 0.50, 1.50, 0.50)]
    [InlineData("claude-3-opus", 15, 75, 15)]
    [InlineData("claude-3-sonnet", 3, 15, 3)]
    [InlineData("claude-3-5-sonnet", 3, 15, 3)]
    [InlineData("claude-3-haiku", 0.25, 1.25, 0.25)]
    public void Ships_the_list_prices(string model, double input, double output, double cached)
    {
        var price = _pricing.Resolve(model);
        Assert.Equal(model, price.KnownModel);
        Assert.Equal((decimal)input, price.Price.Input);
        Assert.Equal((decimal)output, price.Price.Output);
        Assert.Equal((decimal)cached, price.Price.CachedInputOrInput);
    }

    [Theory]
    [InlineData("openai/gpt-4o", "gpt-4o")]
    [InlineData("anthropic/claude-3-haiku", "claude-3-haiku")]
    [InlineData("gpt-4o-2024-08-06", "gpt-4o")]
    [InlineData("claude-3-haiku-20240307", "claude-3-haiku")]
    [InlineData("gpt-4o-mini-2024-07-18", "gpt-4o-mini")]
    [InlineData("openai/gpt-4o-mini-2024-07-18", "gpt-4o-mini")]
    [InlineData("gpt-4-turbo-2024-04-09", "gpt-4-turbo")]
    [InlineData("GPT-4O", "gpt-4o")]
    [InlineData("claude-3-5-sonnet-20241022", "claude-3-5-sonnet")]
    public void Resolves_prefixed_and_dated_ids_to_the_longest_family(string model, string expected) =>
        Assert.Equal(expected, _pricing.Resolve(model).KnownModel);

    [Theory]
    [InlineData("llama-3-70b")]
    [InlineData("gpt-4.1")]
    [InlineData("gpt-4oxyz")]
    [InlineData("my/")]
    public void Unknown_models_fall_back_to_the_default_price_never_zero(string model)
    {
        var price = _pricing.Resolve(model);
        Assert.Null(price.KnownModel);
        Assert.True(price.Price.Input > 0 && price.Price.Output > 0);
        Assert.True(UsagePricing.CostMicros(price.Price, 1000, 0, 1000) > 0);
    }

    [Fact]
    public void Cached_input_tokens_are_priced_at_the_cached_price()
    {
        // gpt-4o: 800 uncached × 2.50 + 200 cached × 1.25 + 500 output × 10 = 7,250 micro-dollars.
        Assert.Equal(7_250, UsagePricing.CostMicros(_pricing.Resolve("gpt-4o").Price, 1000, 200, 500));
    }

    [Fact]
    public void Cached_price_defaults_to_the_input_price() =>
        Assert.Equal(60_000, UsagePricing.CostMicros(_pricing.Resolve("gpt-4").Price, 1000, 1000, 500));

    [Theory]
    [InlineData(1, 0, 0, 0)]   // gpt-4o-mini: 0.15 micro-dollars rounds to 0
    [InlineData(3, 0, 0, 0)]   // 0.45 → 0
    [InlineData(4, 0, 0, 1)]   // 0.60 → 1
    [InlineData(10, 0, 0, 2)]  // 1.5 → 2 (halves away from zero)
    [InlineData(0, 0, 100_000_000, 60_000_000)]
    public void Cost_is_rounded_to_the_nearest_micro_dollar(long input, long cached, long output, long expected) =>
        Assert.Equal(expected, UsagePricing.CostMicros(_pricing.Resolve("gpt-4o-mini").Price, input, cached, output));

    [Fact]
    public void Largest_event_does_not_overflow()
    {
        var opus = _pricing.Resolve("claude-3-opus").Price;
        Assert.Equal(9_000_000_000, UsagePricing.CostMicros(opus, 100_000_000, 0, 100_000_000));
    }
}
