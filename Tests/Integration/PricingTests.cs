using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

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

    [Theory]
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
        Assert.Equal("2026-12-01", json.GetProperty("catalogAsOf").GetString());
        Assert.Contains(json.GetProperty("models").EnumerateArray(), m => m.GetProperty("id").GetString() == "gpt-5" && m.GetProperty("source").GetString() == "catalog");

        var resolved = await app.Api.SendAsync(app.Admin(HttpMethod.Get,
            "/api/v1/admin/pricing/resolve?model=us.anthropic.claude-haiku-4-5-20251001-v1:0&serviceTier=batch&inputTokens=1000"));
        Assert.Equal(HttpStatusCode.OK, resolved.StatusCode);
        var resolution = await resolved.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("family", resolution.GetProperty("match").GetString());
        Assert.Equal("claude-haiku-4-5", resolution.GetProperty("resolvedId").GetString());
        Assert.Equal(0.5m, resolution.GetProperty("pricesPerMillionTokens").GetProperty("input").GetDecimal());

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
        Assert.False(await app.Redis.GetDatabase().HashExistsAsync(LlmCostTracker.Contracts.LedgerKeys.PricingOverridesKey, model));
        Assert.Equal(HttpStatusCode.NotFound, (await app.Api.SendAsync(app.Admin(HttpMethod.Delete, $"/api/v1/admin/pricing/models/{model}"))).StatusCode);
    }
}
