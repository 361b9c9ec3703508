using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace LlmCostTracker.Tests.Integration;

/// <summary>A price override through the admin API, in the app with two worker replicas.</summary>
[Collection(FaultCollection.Name)]
public sealed class PriceOverrideTests(FaultAppFixture app)
{
    [Fact]
    public async Task An_override_prices_the_next_events_in_every_worker_replica_and_not_the_past()
    {
        var model = $"acme-ft-{Guid.NewGuid():N}";
        var user = AppFixture.NewUser("override");
        var before = DateTimeOffset.UtcNow.AddMinutes(-1);
        var setAt = DateTimeOffset.UtcNow;

        var put = await app.Api.SendAsync(app.Admin(HttpMethod.Put, $"/api/v1/admin/pricing/models/{model}",
            new { input = 1, output = 2, effectiveFrom = setAt }));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal("override", (await put.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("source").GetString());

        // Every replica reports the overrides version it prices with; wait until both have this one.
        var version = await Eventually.ReturnsAsync(
            async () =>
            {
                var pricing = await (await app.Api.SendAsync(app.Admin(HttpMethod.Get, "/api/v1/admin/pricing"))).Content.ReadFromJsonAsync<JsonElement>();
                var current = pricing.GetProperty("overridesVersion").GetInt64();
                var applied = pricing.GetProperty("workers").EnumerateArray().Count(w =>
                    w.GetProperty("overridesVersion").GetInt64() == current && w.GetProperty("checkedAt").GetDateTimeOffset() >= setAt.AddSeconds(-1));
                return (current, applied);
            },
            v => v.applied >= FaultAppFixture.WorkerReplicas, because: "both replicas to apply the override");
        Assert.True(version.current > 0);

        // 20 events now, spread over both replicas by the broker; one that occurred before the override.
        await Task.WhenAll(Enumerable.Range(0, 20).Select(async _ =>
            Assert.Equal(HttpStatusCode.Accepted, (await app.PostUsageAsync(new { userId = user, model, inputTokens = 1_000, outputTokens = 1_000 })).StatusCode)));
        Assert.Equal(HttpStatusCode.Accepted,
            (await app.PostUsageAsync(new { userId = user, model, inputTokens = 1_000, outputTokens = 1_000, occurredAt = before })).StatusCode);

        var totals = await app.WaitForRequestsAsync(user, 21);
        // 20 × (1,000 × 1 + 1,000 × 2) at the override, 1 × (1,000 × 10 + 1,000 × 30) at the fallback.
        Assert.Equal(20 * 3_000 + 40_000, totals["cost"]);

        Assert.Equal(HttpStatusCode.NoContent, (await app.Api.SendAsync(app.Admin(HttpMethod.Delete, $"/api/v1/admin/pricing/models/{model}"))).StatusCode);
    }
}
