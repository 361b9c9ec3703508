using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using LlmCostTracker.Ledger;
using LlmCostTracker.Pricing;

namespace LlmCostTracker.Tests.Integration;

/// <summary>Today's price dimensions (cache writes, reasoning, service tiers, long context) from the HTTP API to the
/// reports, and the pricing admin API.</summary>
[Collection(AppCollection.Name)]
public sealed class PricingTests(AppFixture app)
{
    [Fact]
    public async Task Cache_writes_reasoning_tiers_and_long_context_are_priced_and_reported()
    {
        var user = AppFixture.NewUser("dimensions");
        var batch = await app.PostBatchAsync(new
        {
            events = new object[]
            {
                // 7,000 × 3 + 2,000 × 0.30 + 1,000 × 3.75 + 1,000 × 15 = 40,350
                new { userId = user, model = "claude-sonnet-4-5", inputTokens = 10_000, cachedInputTokens = 2_000, cacheWriteInputTokens = 1_000, outputTokens = 1_000 },
                // Above 200,000 input tokens every token is long-context: 300,000 × 6 × 0.5 (batch) = 900,000
                new { userId = user, model = "claude-sonnet-4-5", inputTokens = 300_000, outputTokens = 0, serviceTier = "batch", provider = "anthropic" },
                // Priority gpt-5: 1,000 × 2.50 + 1,000 × 20 (reasoning billed as output) = 22,500
                new { userId = user, model = "gpt-5", inputTokens = 1_000, outputTokens = 1_000, reasoningOutputTokens = 700, serviceTier = "priority" },
            },
        });
        Assert.Equal(HttpStatusCode.Accepted, batch.StatusCode);

        var totals = await app.WaitForRequestsAsync(user, 3);
        Assert.Equal(40_350 + 900_000 + 22_500, totals["cost"]);

        var detail = await app.Api.SendAsync(app.Admin(HttpMethod.Get, $"/api/v1/admin/llm-costs/{user}"));
        Assert.Equal(HttpStatusCode.OK, detail.StatusCode);
        var json = await detail.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(0.96285m, json.GetProperty("costUsd").GetDecimal());
        Assert.Equal(1_000, json.GetProperty("cacheWriteInputTokens").GetInt64());
        Assert.Equal(700, json.GetProperty("reasoningOutputTokens").GetInt64());
        var sonnet = json.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("model").GetString() == "claude-sonnet-4-5");
        Assert.Equal(0.94035m, sonnet.GetProperty("costUsd").GetDecimal());
        Assert.Equal(1_000, sonnet.GetProperty("cacheWriteInputTokens").GetInt64());
        Assert.Equal(2, sonnet.GetProperty("requests").GetInt64());
    }

    [Fact]
    public async Task One_hour_cache_writes_and_audio_tokens_are_priced_at_their_own_prices()
    {
        var user = AppFixture.NewUser("dimensions-1h-audio");
        var batch = await app.PostBatchAsync(new
        {
            events = new object[]
            {
                // 700 × 5 + 100 × 6.25 (5-minute writes) + 200 × 10 (1-hour writes) = 6,125
                new { userId = user, model = "claude-opus-4-8", inputTokens = 1_000, cacheWriteInputTokens = 300, cacheWrite1hInputTokens = 200, outputTokens = 0 },
                // 400 × 4 + 600 × 32 (audio in) + 200 × 16 + 300 × 64 (audio out) = 43,200
                new { userId = user, model = "gpt-realtime", inputTokens = 1_000, audioInputTokens = 600, outputTokens = 500, audioOutputTokens = 300 },
            },
        });
        Assert.Equal(HttpStatusCode.Accepted, batch.StatusCode);

        Assert.Equal(6_125 + 43_200, (await app.WaitForRequestsAsync(user, 2))["cost"]);
    }

    /// <summary>Models teams call today that the hand-typed catalog priced at the fallback or as a relative: each at
    /// 1,000 input and 1,000 output tokens, reported at list price (USD per 1M tokens, worked by hand).</summary>
    public static TheoryData<string, string?, long> TodaysModels => new()
    {
        { "gpt-5.4", null, 17_500 },                                          // 2.5 + 15
        { "gpt-5.5", null, 35_000 },                                          // 5 + 30
        { "gpt-5.5-pro", null, 210_000 },                                     // 30 + 180
        { "gpt-5.4-mini", null, 5_250 },                                      // 0.75 + 4.5
        { "gpt-5.4-nano", null, 1_450 },                                      // 0.2 + 1.25
        { "o3-pro", null, 100_000 },                                          // 20 + 80, never o3's
        { "gpt-5.1-codex-mini", null, 2_250 },                                // 0.25 + 2, never gpt-5.1's
        { "claude-opus-4-7", null, 30_000 },                                  // 5 + 25, never claude-opus-4's
        { "claude-opus-4-8", null, 30_000 },                                  // 5 + 25
        { "claude-opus-5", null, 30_000 },                                    // 5 + 25
        { "claude-sonnet-5", null, 18_000 },                                  // 3 + 15 (from 2026-09-01)
        { "gemini-3-pro-preview", null, 14_000 },                             // 2 + 12
        { "gemini-3.5-flash", null, 10_500 },                                 // 1.5 + 9
        { "gemini-2.5-flash-lite", null, 500 },                               // 0.1 + 0.4, never gemini-2.5-flash's
        { "grok-4", null, 18_000 },                                           // 3 + 15
        { "grok-4-1-fast-reasoning", null, 700 },                             // 0.2 + 0.5
        { "deepseek-chat", null, 700 },                                       // 0.28 + 0.42
        { "deepseek-reasoner", null, 700 },                                   // 0.28 + 0.42
        { "deepseek-v4-pro", null, 1_305 },                                   // 0.435 + 0.87
        { "mistral-large-2512", null, 2_000 },                                // 0.5 + 1.5
        { "meta-llama/llama-4-scout-17b-16e-instruct", "groq", 450 },         // 0.11 + 0.34
        { "meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8", "together", 1_120 }, // 0.27 + 0.85
        { "us.meta.llama4-scout-17b-instruct-v1:0", "aws.bedrock", 830 },     // 0.17 + 0.66
        { "amazon.nova-pro-v1:0", "aws.bedrock", 4_000 },                     // 0.8 + 3.2
        { "command-a-03-2025", "cohere", 12_500 },                            // 2.5 + 10
        { "qwen3-max", null, 7_200 },                                         // 1.2 + 6
    };

    [Fact]
    public async Task Todays_models_are_reported_at_list_price()
    {
        var user = AppFixture.NewUser("todays-models");
        var cases = TodaysModels.Select(row => ((string)row[0], (string?)row[1], (long)row[2])).ToList();
        var batch = await app.PostBatchAsync(new
        {
            events = cases.Select(c => new { userId = user, model = c.Item1, provider = c.Item2, inputTokens = 1_000, outputTokens = 1_000 }).ToArray(),
        });
        Assert.Equal(HttpStatusCode.Accepted, batch.StatusCode);

        await app.WaitForRequestsAsync(user, cases.Count);
        var detail = await app.Api.SendAsync(app.Admin(HttpMethod.Get, $"/api/v1/admin/llm-costs/{user}"));
        Assert.Equal(HttpStatusCode.OK, detail.StatusCode);
        var models = (await detail.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("models").EnumerateArray()
            .ToDictionary(m => m.GetProperty("model").GetString()!, m => m.GetProperty("costUsd").GetDecimal());
        Assert.All(cases, c => Assert.True(models.TryGetValue(c.Item1, out var cost) && cost == c.Item3 / 1_000_000m,
            $"{c.Item1}: reported {(models.TryGetValue(c.Item1, out var reported) ? reported : null)}, list price {c.Item3 / 1_000_000m}"));

        var unknown = await app.Api.SendAsync(app.Admin(HttpMethod.Get, $"/api/v1/admin/pricing/unknown-models?month={AppFixture.CurrentMonth}"));
        var listed = (await unknown.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("models").EnumerateArray().Select(m => m.GetProperty("model").GetString());
        Assert.DoesNotContain(listed, cases.Select(c => c.Item1).Contains);
    }

    [Theory]
    [InlineData("cacheWrite1hInputTokens", """{"userId":"u1","model":"claude-opus-4-8","inputTokens":10,"cacheWriteInputTokens":2,"cacheWrite1hInputTokens":3,"outputTokens":1}""")]
    [InlineData("audioOutputTokens", """{"userId":"u1","model":"gpt-realtime","inputTokens":10,"outputTokens":1,"audioOutputTokens":2}""")]
    [InlineData("cacheWriteInputTokens", """{"userId":"u1","model":"gpt-5","inputTokens":10,"cachedInputTokens":6,"cacheWriteInputTokens":5,"outputTokens":1}""")]
    [InlineData("reasoningOutputTokens", """{"userId":"u1","model":"gpt-5","inputTokens":10,"outputTokens":1,"reasoningOutputTokens":2}""")]
    [InlineData("serviceTier", """{"userId":"u1","model":"gpt-5","inputTokens":10,"outputTokens":1,"serviceTier":"turbo"}""")]
    [InlineData("provider", """{"userId":"u1","model":"gpt-5","inputTokens":10,"outputTokens":1,"provider":"Open AI"}""")]
    public async Task Inconsistent_billing_fields_are_refused_naming_the_field(string field, string body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/llm-usage") { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Api-Key", app.IngestApiKey);

        var response = await app.Api.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_admin_API_shows_the_catalog_and_resolves_an_id_saying_why()
    {
        var catalog = await app.Api.SendAsync(app.Admin(HttpMethod.Get, "/api/v1/admin/pricing"));
        Assert.Equal(HttpStatusCode.OK, catalog.StatusCode);
        var json = await catalog.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(PriceCatalog.Shipped().AsOf.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), json.GetProperty("catalogAsOf").GetString());
        Assert.True(json.GetProperty("models").GetArrayLength() >= 1_500);
        Assert.Contains(json.GetProperty("models").EnumerateArray(), m => m.GetProperty("id").GetString() == "gpt-5" && m.GetProperty("source").GetString() == "catalog");

        // Vertex's @version wrapper of Vertex's own Opus 4.6, at Vertex batch (half): 5 × 0.5.
        var resolved = await app.Api.SendAsync(app.Admin(HttpMethod.Get,
            "/api/v1/admin/pricing/resolve?model=vertex_ai/claude-opus-4-6@20260205&serviceTier=batch&inputTokens=1000"));
        Assert.Equal(HttpStatusCode.OK, resolved.StatusCode);
        var resolution = await resolved.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("cloud", resolution.GetProperty("match").GetString());
        Assert.Equal(("claude-opus-4-6", "gcp.vertex_ai"), (resolution.GetProperty("resolvedId").GetString(), resolution.GetProperty("provider").GetString()));
        Assert.Equal(2.5m, resolution.GetProperty("pricesPerMillionTokens").GetProperty("input").GetDecimal());

        // A relative is never a match: claude-opus-4-9 is not claude-opus-4.
        var sibling = await (await app.Api.SendAsync(app.Admin(HttpMethod.Get, "/api/v1/admin/pricing/resolve?model=claude-opus-4-9"))).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("fallback", sibling.GetProperty("match").GetString());

        var bad = await app.Api.SendAsync(app.Admin(HttpMethod.Get, "/api/v1/admin/pricing/resolve?serviceTier=turbo"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var errors = (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("model", out _) && errors.TryGetProperty("serviceTier", out _));
    }

    [Fact]
    public async Task Models_priced_at_the_fallback_are_listed_with_requests_and_cost()
    {
        var model = $"mystery-model-{Guid.NewGuid():N}";
        var user = AppFixture.NewUser("unknown");
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await app.PostUsageAsync(new { userId = user, model, inputTokens = 1_000, outputTokens = 1_000 })).StatusCode);
        }

        await app.WaitForRequestsAsync(user, 2);
        var row = await Eventually.ReturnsAsync(
            async () =>
            {
                var report = await app.Api.SendAsync(app.Admin(HttpMethod.Get, $"/api/v1/admin/pricing/unknown-models?month={AppFixture.CurrentMonth}"));
                Assert.Equal(HttpStatusCode.OK, report.StatusCode);
                var models = (await report.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("models");
                return models.EnumerateArray().Where(m => m.GetProperty("model").GetString() == model).Select(m => (JsonElement?)m).FirstOrDefault();
            },
            // Recorded just after the ledger write that counted them: wait for both.
            found => found?.GetProperty("requests").GetInt64() >= 2, because: "the unknown model to be listed with both requests");
        Assert.Equal(2, row!.Value.GetProperty("requests").GetInt64());
        Assert.Equal(0.08m, row.Value.GetProperty("costUsd").GetDecimal());
    }

    [Fact]
    public async Task A_bad_override_is_refused_naming_the_field_and_nothing_is_stored()
    {
        var model = $"bad-{Guid.NewGuid():N}";
        var response = await app.Api.SendAsync(app.Admin(HttpMethod.Put, $"/api/v1/admin/pricing/models/{model}",
            new { input = -1, output = 2, tiers = new { turbo = new { multiplier = 0.5 } } }));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("input", out _), errors.ToString());
        Assert.True(errors.TryGetProperty("tiers.turbo", out _), errors.ToString());
        Assert.False(await app.Redis.GetDatabase().HashExistsAsync(LedgerKeys.PricingOverridesKey, model));
        Assert.Equal(HttpStatusCode.NotFound, (await app.Api.SendAsync(app.Admin(HttpMethod.Delete, $"/api/v1/admin/pricing/models/{model}"))).StatusCode);
    }
}
