using LlmCostTracker.Contracts;
using LlmCostTracker.Contracts.Pricing;

namespace LlmCostTracker.Tests.Unit;

/// <summary>The shipped catalog, priced case by case against hand-computed micro-dollar figures (a price per 1M
/// tokens times a token count is micro-dollars).</summary>
public sealed class PriceBookTests
{
    private static readonly PriceBook Book = new PricingOptions().Build();
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private static LlmUsage Usage(string model, long input, long output, long cached = 0, long cacheWrite = 0, long reasoning = 0,
        string? tier = null, string? provider = null, DateTimeOffset? at = null) => new()
    {
        EventId = "e", UserId = "u", Model = model, InputTokens = input, CachedInputTokens = cached, CacheWriteInputTokens = cacheWrite,
        OutputTokens = output, ReasoningOutputTokens = reasoning, ServiceTier = tier, Provider = provider, OccurredAt = at ?? Now,
    };

    public static TheoryData<string, LlmUsage, string?, long> Cases => new()
    {
        // model id, usage, resolved id (null: fallback), micro-dollars
        { "gpt-5 1k in, 1k out: 1,250 + 10,000", Usage("gpt-5", 1_000, 1_000), "gpt-5", 11_250 },
        { "gpt-5 cached: 600 × 1.25 + 400 × 0.125", Usage("gpt-5", 1_000, 0, cached: 400), "gpt-5", 800 },
        { "gpt-5-mini", Usage("gpt-5-mini", 1_000, 1_000), "gpt-5-mini", 2_250 },
        { "gpt-5-nano 10k/10k: 500 + 4,000", Usage("gpt-5-nano", 10_000, 10_000), "gpt-5-nano", 4_500 },
        { "gpt-5.1", Usage("gpt-5.1", 1_000, 1_000), "gpt-5.1", 11_250 },
        { "gpt-5.2: 1,750 + 14,000", Usage("gpt-5.2", 1_000, 1_000), "gpt-5.2", 15_750 },
        { "gpt-4.1", Usage("gpt-4.1", 1_000, 1_000), "gpt-4.1", 10_000 },
        { "gpt-4.1-mini", Usage("gpt-4.1-mini", 1_000, 1_000), "gpt-4.1-mini", 2_000 },
        { "gpt-4.1-nano", Usage("gpt-4.1-nano", 1_000, 1_000), "gpt-4.1-nano", 500 },
        { "o3 today: 2,000 + 8,000", Usage("o3", 1_000, 1_000), "o3", 10_000 },
        { "o3 before its 2025-06-10 cut: 10,000 + 40,000", Usage("o3", 1_000, 1_000, at: new DateTimeOffset(2025, 5, 1, 0, 0, 0, TimeSpan.Zero)), "o3", 50_000 },
        { "o4-mini: 1,100 + 4,400", Usage("o4-mini", 1_000, 1_000), "o4-mini", 5_500 },
        { "gpt-4o: 800 × 2.5 + 200 × 1.25 + 500 × 10", Usage("gpt-4o", 1_000, 500, cached: 200), "gpt-4o", 7_250 },
        { "gpt-4o-mini", Usage("gpt-4o-mini", 1_000, 1_000), "gpt-4o-mini", 750 },
        { "gpt-4", Usage("gpt-4", 1_000, 1_000), "gpt-4", 90_000 },
        { "gpt-4-turbo", Usage("gpt-4-turbo", 1_000, 1_000), "gpt-4-turbo", 40_000 },
        { "gpt-3.5-turbo", Usage("gpt-3.5-turbo", 1_000, 1_000), "gpt-3.5-turbo", 2_000 },
        { "claude-opus-4-5: 500 × 5 + 200 × 0.5 + 300 × 6.25 + 1,000 × 25", Usage("claude-opus-4-5", 1_000, 1_000, cached: 200, cacheWrite: 300), "claude-opus-4-5", 29_475 },
        { "claude-opus-4-1", Usage("claude-opus-4-1", 1_000, 1_000), "claude-opus-4-1", 90_000 },
        { "claude-opus-4-1 all cache writes: 1,000 × 18.75", Usage("claude-opus-4-1", 1_000, 0, cacheWrite: 1_000), "claude-opus-4-1", 18_750 },
        { "claude-sonnet-4-5: 7k × 3 + 2k × 0.3 + 1k × 3.75 + 1k × 15", Usage("claude-sonnet-4-5", 10_000, 1_000, cached: 2_000, cacheWrite: 1_000), "claude-sonnet-4-5", 40_350 },
        { "claude-sonnet-4-5 above 200k: 150k × 6 + 100k × 0.6 + 50k × 7.5 + 10k × 22.5", Usage("claude-sonnet-4-5", 300_000, 10_000, cached: 100_000, cacheWrite: 50_000), "claude-sonnet-4-5", 1_560_000 },
        { "claude-sonnet-4-5 at exactly 200k: standard", Usage("claude-sonnet-4-5", 200_000, 0), "claude-sonnet-4-5", 600_000 },
        { "claude-sonnet-4-5 at 200,001: every token long-context", Usage("claude-sonnet-4-5", 200_001, 0), "claude-sonnet-4-5", 1_200_006 },
        { "claude-sonnet-4", Usage("claude-sonnet-4", 1_000, 1_000), "claude-sonnet-4", 18_000 },
        { "claude-haiku-4-5: 250 + 500 × 0.1 + 250 × 1.25 + 100 × 5 = 1,112.5", Usage("claude-haiku-4-5", 1_000, 100, cached: 500, cacheWrite: 250), "claude-haiku-4-5", 1_113 },
        { "claude-3-opus", Usage("claude-3-opus", 1_000, 1_000), "claude-3-opus", 90_000 },
        { "claude-3-haiku", Usage("claude-3-haiku", 1_000, 1_000), "claude-3-haiku", 1_500 },
        { "claude-3-5-sonnet dated", Usage("claude-3-5-sonnet-20241022", 1_000, 1_000), "claude-3-5-sonnet", 18_000 },
        { "gemini-2.5-pro: 800 × 1.25 + 200 × 0.125 + 10,000", Usage("gemini-2.5-pro", 1_000, 1_000, cached: 200), "gemini-2.5-pro", 11_025 },
        { "gemini-2.5-pro above 200k: 250k × 2.5 + 1k × 15", Usage("gemini-2.5-pro", 250_000, 1_000), "gemini-2.5-pro", 640_000 },
        { "gemini-2.5-flash: 900 × 0.3 + 100 × 0.03 + 2,500", Usage("gemini-2.5-flash", 1_000, 1_000, cached: 100), "gemini-2.5-flash", 2_773 },
        { "batch gpt-5: half", Usage("gpt-5", 1_000, 1_000, tier: "batch"), "gpt-5", 5_625 },
        { "batch claude-sonnet-4-5: half", Usage("claude-sonnet-4-5", 1_000, 1_000, tier: "batch"), "claude-sonnet-4-5", 9_000 },
        { "batch claude-sonnet-4-5 above 200k: half the long-context prices", Usage("claude-sonnet-4-5", 300_000, 0, tier: "batch"), "claude-sonnet-4-5", 900_000 },
        { "flex gpt-5-mini: half", Usage("gpt-5-mini", 1_000, 1_000, tier: "flex"), "gpt-5-mini", 1_125 },
        { "flex o3: half", Usage("o3", 1_000, 1_000, tier: "flex"), "o3", 5_000 },
        { "flex o4-mini: half", Usage("o4-mini", 1_000, 1_000, tier: "FLEX"), "o4-mini", 2_750 },
        { "priority gpt-5: 600 × 2.5 + 400 × 0.25 + 1,000 × 20", Usage("gpt-5", 1_000, 1_000, cached: 400, tier: "priority"), "gpt-5", 21_600 },
        { "priority gpt-4.1 has no price: standard", Usage("gpt-4.1", 1_000, 1_000, tier: "priority"), "gpt-4.1", 10_000 },
        { "batch gemini has no price: standard", Usage("gemini-2.5-pro", 1_000, 1_000, tier: "batch"), "gemini-2.5-pro", 11_250 },
        { "reasoning tokens are output unless priced apart", Usage("gpt-5", 0, 1_000, reasoning: 600), "gpt-5", 10_000 },
        { "dated OpenAI snapshot", Usage("gpt-4.1-mini-2025-04-14", 1_000, 1_000), "gpt-4.1-mini", 2_000 },
        { "dated Anthropic snapshot", Usage("claude-sonnet-4-5-20250929", 1_000, 1_000), "claude-sonnet-4-5", 18_000 },
        { "Bedrock id", Usage("anthropic.claude-sonnet-4-5-20250929-v1:0", 1_000, 1_000, provider: "aws.bedrock"), "claude-sonnet-4-5", 18_000 },
        { "Bedrock cross-region id", Usage("us.anthropic.claude-haiku-4-5-20251001-v1:0", 1_000, 1_000), "claude-haiku-4-5", 6_000 },
        { "Vertex id", Usage("claude-sonnet-4-5@20250929", 1_000, 1_000), "claude-sonnet-4-5", 18_000 },
        { "alias", Usage("gpt-5-chat-latest", 1_000, 1_000), "gpt-5", 11_250 },
        { "provider prefix", Usage("openai/gpt-5", 1_000, 1_000), "gpt-5", 11_250 },
        { "gpt-4.1 is never gpt-4", Usage("gpt-4.1-2025-04-14", 1_000, 1_000), "gpt-4.1", 10_000 },
        { "gpt-5-mini is never gpt-5", Usage("gpt-5-mini-2025-08-07", 1_000, 1_000), "gpt-5-mini", 2_250 },
        { "unknown model: the fallback, 10 + 30", Usage("llama-3-70b", 1_000, 1_000), null, 40_000 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Prices_each_case_to_the_micro_dollar(string because, LlmUsage usage, string? resolvedId, long expectedMicros)
    {
        var quote = Book.Quote(usage);

        Assert.True(resolvedId == quote.KnownModel, $"{because}: resolved to {quote.KnownModel ?? "the fallback"}");
        Assert.True(expectedMicros == PriceBook.CostMicros(quote.Rates, usage), $"{because}: {PriceBook.CostMicros(quote.Rates, usage)} µ$");
    }

    [Theory]
    [InlineData("gpt-4.1", "priority", true)]
    [InlineData("gemini-2.5-pro", "batch", true)]
    [InlineData("gpt-5", "priority", false)]
    [InlineData("claude-haiku-4-5", "batch", false)]
    [InlineData("gpt-5", null, false)]
    public void A_tier_the_model_has_no_price_for_is_flagged(string model, string? tier, bool unpriced) =>
        Assert.Equal(unpriced, Book.Quote(model, null, tier, 1_000, Now).TierUnpriced);

    [Theory]
    [InlineData("gpt-5", MatchKinds.Exact)]
    [InlineData("gpt-5-chat-latest", MatchKinds.Alias)]
    [InlineData("openai/gpt-5", MatchKinds.Prefix)]
    [InlineData("us.anthropic.claude-haiku-4-5-20251001-v1:0", MatchKinds.Family)]
    [InlineData("anthropic.claude-haiku-4-5", MatchKinds.Prefix)]
    [InlineData("gpt-5-2025-08-07", MatchKinds.Family)]
    [InlineData("made-up", MatchKinds.Fallback)]
    public void Says_how_an_id_matched(string model, string match) => Assert.Equal(match, Book.Resolve(model).Match);

    [Fact]
    public void The_shipped_catalog_is_valid_dated_and_lists_every_model_of_the_issue()
    {
        var catalog = PriceCatalog.Shipped();
        Assert.Equal(new DateOnly(2026, 12, 1), catalog.AsOf);
        string[] required = ["gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o3", "o4-mini", "gpt-4o", "gpt-4o-mini",
            "gpt-4", "gpt-4-turbo", "gpt-3.5-turbo", "claude-opus-4-5", "claude-opus-4-1", "claude-sonnet-4-5", "claude-sonnet-4", "claude-haiku-4-5",
            "claude-3-opus", "claude-3-sonnet", "claude-3-5-sonnet", "claude-3-haiku", "gemini-2.5-pro", "gemini-2.5-flash"];
        Assert.All(required, id => Assert.Contains(catalog.Models, e => e.Id == id));
        Assert.Empty(new PricingOptions().Problems());
    }

    [Fact]
    public void A_bad_entry_is_refused_with_the_entry_and_field_named()
    {
        var json = """
            { "asOf": "2026-12-01", "fallback": { "input": 10, "output": 30 },
              "models": [
                { "provider": "openai", "id": "fine", "effectiveFrom": "2025-01-01", "input": 1, "output": 2 },
                { "provider": "openai", "id": "broken", "effectiveFrom": "2025-01-01", "input": -1, "output": 2 } ] }
            """;
        var catalog = PriceCatalog.Parse(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json)));

        var refused = Assert.Throws<PriceCatalogException>(() => PriceValidation.Validate(catalog));
        Assert.Contains("models[1].input (openai/broken)", refused.Message);
    }

    [Fact]
    public void An_unknown_field_in_the_catalog_is_refused_not_ignored()
    {
        var json = """{ "asOf": "2026-12-01", "models": [ { "provider": "openai", "id": "x", "effectiveFrom": "2025-01-01", "input": 1, "ouput": 2 } ] }""";
        Assert.Throws<PriceCatalogException>(() => PriceCatalog.Parse(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json))));
    }

    [Fact]
    public void An_override_applies_from_its_date_on_and_the_past_keeps_its_price()
    {
        var from = new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);
        var book = new PricingOptions().Build([new PriceEntry { Provider = "openai", Id = "gpt-5", EffectiveFrom = from, Input = 1, Output = 2, Source = PriceSources.Override }]);

        Assert.Equal(11_250, PriceBook.CostMicros(book.Quote(Usage("gpt-5", 1_000, 1_000, at: from.AddSeconds(-1))).Rates, Usage("gpt-5", 1_000, 1_000)));
        var after = book.Quote(Usage("gpt-5", 1_000, 1_000, at: from));
        Assert.Equal(PriceSources.Override, after.Entry!.Source);
        Assert.Equal(3_000, PriceBook.CostMicros(after.Rates, Usage("gpt-5", 1_000, 1_000)));
    }

    [Fact]
    public void Configuration_replaces_a_catalog_model_for_every_date_and_adds_new_ones()
    {
        var options = new PricingOptions
        {
            Models =
            {
                ["gpt-4o"] = new ConfiguredPrice { Input = 1, Output = 1 },
                ["acme-ft-1"] = new ConfiguredPrice { Input = 4, Output = 8, Provider = "azure.ai.openai" },
            },
        };
        var book = options.Build();

        Assert.Equal(2_000, PriceBook.CostMicros(book.Quote(Usage("gpt-4o", 1_000, 1_000)).Rates, Usage("gpt-4o", 1_000, 1_000)));
        var custom = book.Quote(Usage("acme-ft-1", 1_000, 1_000));
        Assert.Equal((PriceSources.Configuration, "azure.ai.openai"), (custom.Entry!.Source, custom.Entry.Provider));
        Assert.Equal(12_000, PriceBook.CostMicros(custom.Rates, Usage("acme-ft-1", 1_000, 1_000)));
    }

    [Fact]
    public void The_provider_picks_the_entry_when_several_providers_list_an_id()
    {
        var book = new PricingOptions().Build([new PriceEntry { Provider = "azure.ai.openai", Id = "gpt-5", EffectiveFrom = PricingOptions.Always, Input = 2, Output = 20 }]);

        Assert.Equal("openai", book.Quote(Usage("gpt-5", 1, 1)).Entry!.Provider);
        Assert.Equal("azure.ai.openai", book.Quote(Usage("gpt-5", 1, 1, provider: "azure.ai.openai")).Entry!.Provider);
        Assert.Equal("openai", book.Quote(Usage("gpt-5", 1, 1, provider: "openai")).Entry!.Provider);
    }

    [Theory]
    [InlineData(1, 0)]   // gpt-4o-mini: 0.15 micro-dollars rounds to 0
    [InlineData(4, 1)]   // 0.60 → 1
    [InlineData(10, 2)]  // 1.5 → 2 (halves away from zero)
    public void Cost_is_rounded_to_the_nearest_micro_dollar(long input, long expected) =>
        Assert.Equal(expected, PriceBook.CostMicros(Book.Quote(Usage("gpt-4o-mini", input, 0)).Rates, Usage("gpt-4o-mini", input, 0)));

    [Fact]
    public void The_largest_event_does_not_overflow() =>
        Assert.Equal(9_000_000_000, PriceBook.CostMicros(Book.Quote(Usage("claude-3-opus", 1, 1)).Rates, Usage("claude-3-opus", 100_000_000, 100_000_000)));
}
