using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmCostTracker.Tests.Integration;

/// <summary>A newer price catalog at run time, in the app with two worker replicas: uploaded (three formats),
/// refused whole when one entry is bad, rolled back, and pulled on a schedule from a local HTTP server.</summary>
[Collection(FaultCollection.Name)]
public sealed class PriceCatalogTests(FaultAppFixture app)
{
    private static readonly TimeSpan ReachesWorkersWithin = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task An_uploaded_catalog_reaches_both_worker_replicas_within_10_s_and_prices_the_next_events_not_the_past()
    {
        var model = $"catalog-test-{Guid.NewGuid():N}";
        var user = AppFixture.NewUser("catalog");
        try
        {
            // Before: the id is unknown, priced at the fallback (1,000 × 10 + 1,000 × 30).
            for (var i = 0; i < 2; i++)
            {
                Assert.Equal(HttpStatusCode.Accepted, (await app.PostUsageAsync(new { userId = user, model, inputTokens = 1_000, outputTokens = 1_000 })).StatusCode);
            }

            Assert.Equal(2 * 40_000, (await app.WaitForRequestsAsync(user, 2))["cost"]);

            var (catalog, count) = await CatalogWithAsync(model, input: 1, output: 2);
            var sent = DateTimeOffset.UtcNow;
            var clock = Stopwatch.StartNew();
            var put = await PutCatalogAsync(catalog, "?source=integration-test");
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
            var version = await put.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(count + 1, version.GetProperty("entries").GetInt32());
            Assert.Equal("integration-test (catalog)", version.GetProperty("source").GetString());

            await WaitForBothReplicasAsync(sent);
            Assert.True(clock.Elapsed <= ReachesWorkersWithin, $"the catalog reached both replicas after {clock.Elapsed.TotalSeconds:F1} s");

            // After: 1,000 × 1 + 1,000 × 2 each; the two counted before keep their price.
            await Task.WhenAll(Enumerable.Range(0, 6).Select(async _ =>
                Assert.Equal(HttpStatusCode.Accepted, (await app.PostUsageAsync(new { userId = user, model, inputTokens = 1_000, outputTokens = 1_000 })).StatusCode)));
            Assert.Equal(2 * 40_000 + 6 * 3_000, (await app.WaitForRequestsAsync(user, 8))["cost"]);

            var versions = await VersionsAsync();
            Assert.Equal(version.GetProperty("version").GetInt64(), versions.GetProperty("current").GetInt64());

            // The same content again stores nothing.
            Assert.Equal(HttpStatusCode.OK, (await PutCatalogAsync(catalog, "")).StatusCode);
            Assert.Equal(versions.GetProperty("versions").GetArrayLength(), (await VersionsAsync()).GetProperty("versions").GetArrayLength());

            // Rollback to the shipped catalog: the id is unknown again.
            Assert.Equal(HttpStatusCode.OK, (await app.Api.SendAsync(app.Admin(HttpMethod.Post, "/api/v1/admin/pricing/catalog/versions/0/activate"))).StatusCode);
            Assert.Equal("fallback", (await ResolveAsync(model)).GetProperty("match").GetString());
            Assert.Equal(HttpStatusCode.NotFound, (await app.Api.SendAsync(app.Admin(HttpMethod.Post, "/api/v1/admin/pricing/catalog/versions/999999/activate"))).StatusCode);
        }
        finally
        {
            await ActivateShippedAsync();
        }
    }

    [Fact]
    public async Task A_catalog_with_one_bad_entry_is_refused_naming_it_and_nothing_is_stored()
    {
        var (catalog, count) = await CatalogWithAsync($"bad-{Guid.NewGuid():N}", input: -1, output: 2);
        var before = await VersionsAsync();

        var put = await PutCatalogAsync(catalog, "");

        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        var errors = (await put.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.True(errors.TryGetProperty($"models[{count}].input", out var message), errors.ToString());
        Assert.Contains("custom-test/bad-", message[0].GetString());
        var after = await VersionsAsync();
        Assert.Equal(before.GetProperty("current").GetInt64(), after.GetProperty("current").GetInt64());
        Assert.Equal(before.GetProperty("versions").GetArrayLength(), after.GetProperty("versions").GetArrayLength());

        var notJson = await app.Api.SendAsync(new HttpRequestMessage(HttpMethod.Put, "/api/v1/admin/pricing/catalog")
        {
            Content = new StringContent("{ not json", Encoding.UTF8, "application/json"),
            Headers = { { "X-Admin-Key", app.AdminApiKey } },
        });
        Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
    }

    [Fact]
    public async Task A_LiteLLM_file_is_converted_as_the_generator_converts_it()
    {
        var model = $"acme-{Guid.NewGuid():N}";
        var litellm = new JsonObject
        {
            [model] = new JsonObject
            {
                ["litellm_provider"] = "openai", ["mode"] = "chat",
                ["input_cost_per_token"] = 1.5e-06, ["output_cost_per_token"] = 6e-06,
                ["input_cost_per_token_above_200k_tokens"] = 3e-06, ["output_cost_per_token_above_200k_tokens"] = 9e-06,
            },
        };
        try
        {
            var put = await PutCatalogAsync(litellm, "?source=litellm-test");
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
            Assert.Equal("litellm-test (litellm)", (await put.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("source").GetString());

            var standard = (await ResolveAsync(model)).GetProperty("pricesPerMillionTokens");
            Assert.Equal((1.5m, 6m), (standard.GetProperty("input").GetDecimal(), standard.GetProperty("output").GetDecimal()));
            var band = await ResolveAsync(model, "&inputTokens=250000");
            Assert.True(band.GetProperty("longContext").GetBoolean());
            Assert.Equal(3m, band.GetProperty("pricesPerMillionTokens").GetProperty("input").GetDecimal());
        }
        finally
        {
            await ActivateShippedAsync();
        }
    }

    [Fact]
    public async Task The_scheduled_pull_stores_a_good_file_and_keeps_the_version_in_force_when_a_pull_fails()
    {
        var model = $"pulled-{Guid.NewGuid():N}";
        try
        {
            // A bad file: the pull fails, says why, and the version in force stays.
            var (bad, _) = await CatalogWithAsync(model, input: -1, output: 2);
            var current = (await VersionsAsync()).GetProperty("current").GetInt64();
            var servedAt = DateTimeOffset.UtcNow;
            app.CatalogServer.Serve(JsonSerializer.SerializeToUtf8Bytes(bad));
            var failed = await Eventually.ReturnsAsync(VersionsAsync,
                v => v.GetProperty("pull").GetProperty("lastAttemptAt").ValueKind == JsonValueKind.String
                    && v.GetProperty("pull").GetProperty("lastAttemptAt").GetDateTimeOffset() > servedAt.AddSeconds(1)
                    && v.GetProperty("pull").GetProperty("lastError").ValueKind == JsonValueKind.String,
                because: "a pull of the bad file");
            Assert.Contains("models[", failed.GetProperty("pull").GetProperty("lastError").GetString());
            Assert.Equal(current, failed.GetProperty("current").GetInt64());
            Assert.Equal("fallback", (await ResolveAsync(model)).GetProperty("match").GetString());

            // A good file: stored as a new version and put in force.
            var (good, count) = await CatalogWithAsync(model, input: 1, output: 2);
            app.CatalogServer.Serve(JsonSerializer.SerializeToUtf8Bytes(good));
            var pulled = await Eventually.ReturnsAsync(VersionsAsync,
                v => v.GetProperty("pull").GetProperty("lastError").ValueKind == JsonValueKind.Null
                    && v.GetProperty("current").GetInt64() != current,
                because: "a pull of the good file");
            var stored = pulled.GetProperty("versions").EnumerateArray().First(v => v.GetProperty("version").GetInt64() == pulled.GetProperty("current").GetInt64());
            Assert.StartsWith($"pull {app.CatalogServer.Url}", stored.GetProperty("source").GetString());
            Assert.Equal(count + 1, stored.GetProperty("entries").GetInt32());
            Assert.Equal("exact", (await ResolveAsync(model)).GetProperty("match").GetString());
        }
        finally
        {
            app.CatalogServer.Serve(null);
            await ActivateShippedAsync();
        }
    }

    /// <summary>The catalog in force (GET, the project's format) with one more model.</summary>
    private async Task<(JsonNode Catalog, int Count)> CatalogWithAsync(string model, decimal input, decimal output)
    {
        var response = await app.Api.SendAsync(app.Admin(HttpMethod.Get, "/api/v1/admin/pricing/catalog"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var catalog = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        var models = catalog["models"]!.AsArray();
        var count = models.Count;
        models.Add(new JsonObject
        {
            ["provider"] = "custom-test", ["id"] = model, ["effectiveFrom"] = "2020-01-01T00:00:00Z", ["input"] = input, ["output"] = output,
            ["origin"] = "integration-test", ["checked"] = "2026-12-04",
        });
        return (catalog, count);
    }

    private Task<HttpResponseMessage> PutCatalogAsync(JsonNode catalog, string query) =>
        app.Api.SendAsync(new HttpRequestMessage(HttpMethod.Put, "/api/v1/admin/pricing/catalog" + query)
        {
            Content = new StringContent(catalog.ToJsonString(), Encoding.UTF8, "application/json"),
            Headers = { { "X-Admin-Key", app.AdminApiKey } },
        });

    private async Task<JsonElement> VersionsAsync()
    {
        var response = await app.Api.SendAsync(app.Admin(HttpMethod.Get, "/api/v1/admin/pricing/catalog/versions"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private async Task<JsonElement> ResolveAsync(string model, string query = "")
    {
        var response = await app.Api.SendAsync(app.Admin(HttpMethod.Get, $"/api/v1/admin/pricing/resolve?model={model}{query}"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>Both replicas report the pricing version in force, checked after <paramref name="since"/>.</summary>
    private Task WaitForBothReplicasAsync(DateTimeOffset since) => Eventually.ReturnsAsync(
        async () =>
        {
            var pricing = await (await app.Api.SendAsync(app.Admin(HttpMethod.Get, "/api/v1/admin/pricing"))).Content.ReadFromJsonAsync<JsonElement>();
            var current = pricing.GetProperty("overridesVersion").GetInt64();
            return pricing.GetProperty("workers").EnumerateArray().Count(w =>
                w.GetProperty("overridesVersion").GetInt64() >= current && w.GetProperty("checkedAt").GetDateTimeOffset() >= since.AddSeconds(-1));
        },
        applied => applied >= FaultAppFixture.WorkerReplicas, because: "both replicas to price with the new catalog");

    private async Task ActivateShippedAsync()
    {
        var response = await app.Api.SendAsync(app.Admin(HttpMethod.Post, "/api/v1/admin/pricing/catalog/versions/0/activate"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
