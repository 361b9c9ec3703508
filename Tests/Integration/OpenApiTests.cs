using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace LlmCostTracker.Tests.Integration;

[Collection(AppCollection.Name)]
public sealed class OpenApiTests(AppFixture app)
{
    [Fact]
    public async Task The_OpenAPI_document_lists_every_route_its_errors_and_request_examples()
    {
        var document = await app.Api.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var paths = document.GetProperty("paths");
        var operations = paths.EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Select(op => (Path: path.Name, Method: op.Name, Op: op.Value)))
            .ToList();

        Assert.Equal(29, operations.Count);
        Assert.All(operations, o => Assert.True(o.Op.GetProperty("responses").TryGetProperty("401", out _), $"{o.Method} {o.Path} lists 401"));
        // Every operation that takes input (parameters or a body) lists its 400.
        Assert.All(operations.Where(o => o.Op.TryGetProperty("parameters", out _) || o.Op.TryGetProperty("requestBody", out _)),
            o => Assert.True(o.Op.GetProperty("responses").TryGetProperty("400", out _), $"{o.Method} {o.Path} lists 400"));

        var record = paths.GetProperty("/api/v1/llm-usage").GetProperty("post");
        foreach (var status in new[] { "202", "413", "415", "503" })
        {
            Assert.True(record.GetProperty("responses").TryGetProperty(status, out _), status);
        }

        // The answers' bodies, as clients read them: the event ids (AcceptedJson, not the framework's Accepted<T>).
        Assert.Equal("#/components/schemas/UsageAccepted", Schema(record, "202"));
        Assert.Equal("#/components/schemas/UsageBatchAccepted", Schema(paths.GetProperty("/api/v1/llm-usage/batch").GetProperty("post"), "202"));

        var example = record.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("example");
        Assert.Equal("alice@example.com", example.GetProperty("userId").GetString());
        var hold = paths.GetProperty("/api/v1/budget-holds").GetProperty("post");
        foreach (var status in new[] { "201", "402", "409", "503" })
        {
            Assert.True(hold.GetProperty("responses").TryGetProperty(status, out _), status);
        }

        Assert.Equal("#/components/schemas/BudgetHold", Schema(hold, "201"));
        Assert.Equal("#/components/schemas/BudgetHold", Schema(hold, "200"));

        var putCatalog = paths.GetProperty("/api/v1/admin/pricing/catalog").GetProperty("put");
        foreach (var status in new[] { "201", "400", "413", "415" })
        {
            Assert.True(putCatalog.GetProperty("responses").TryGetProperty(status, out _), $"PUT catalog lists {status}");
        }

        var traces = paths.GetProperty("/v1/traces").GetProperty("post");
        Assert.Equal(["application/x-protobuf", "application/json"], traces.GetProperty("requestBody").GetProperty("content").EnumerateObject().Select(c => c.Name));
        foreach (var status in new[] { "200", "413", "415", "503" })
        {
            Assert.True(traces.GetProperty("responses").TryGetProperty(status, out _), $"POST /v1/traces lists {status}");
        }

        var testWebhook = paths.GetProperty("/api/v1/admin/alerts/webhooks/{endpoint}/test").GetProperty("post").GetProperty("responses");
        Assert.True(testWebhook.TryGetProperty("200", out _) && testWebhook.TryGetProperty("404", out _), "POST .../test lists 200 and 404");
        Assert.True(paths.GetProperty("/api/v1/admin/pricing/catalog/versions/{version}/activate").GetProperty("post").GetProperty("responses").TryGetProperty("404", out _));
        Assert.True(paths.GetProperty("/api/v1/admin/llm-costs/{userId}").GetProperty("get").GetProperty("responses").TryGetProperty("404", out _));
        var export = paths.GetProperty("/api/v1/admin/exports/usage").GetProperty("get").GetProperty("responses");
        Assert.True(export.TryGetProperty("200", out _), "GET exports lists 200");
        Assert.True(export.TryGetProperty("503", out _), "GET exports lists 503");
        var reprice = paths.GetProperty("/api/v1/admin/pricing/reprice").GetProperty("post").GetProperty("responses");
        foreach (var status in new[] { "200", "400", "413", "415", "503" })
        {
            Assert.True(reprice.TryGetProperty(status, out _), $"POST reprice lists {status}");
        }

        Assert.Equal("search", example.GetProperty("tags").GetProperty("team").GetString());
        // The tag routes answer 404 for a dimension that is not configured.
        foreach (var (path, method) in new[]
        {
            ("/api/v1/admin/llm-costs/by/{dimension}", "get"), ("/api/v1/admin/llm-costs/by/{dimension}/{value}", "get"),
            ("/api/v1/admin/budgets/by/{dimension}/{value}", "get"), ("/api/v1/admin/budgets/by/{dimension}/{value}", "put"),
            ("/api/v1/admin/budgets/by/{dimension}/{value}", "delete"),
        })
        {
            Assert.True(paths.GetProperty(path).GetProperty(method).GetProperty("responses").TryGetProperty("404", out _), $"{method} {path} lists 404");
        }
    }

    private static string? Schema(JsonElement operation, string status) =>
        operation.GetProperty("responses").GetProperty(status).GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString();

    [Fact]
    public async Task A_202_names_its_events_in_a_JSON_body_sent_with_its_length()
    {
        var id = $"answer-{Guid.NewGuid():N}";
        using var single = await app.PostUsageAsync(new { eventId = id, userId = "answer-user", model = "gpt-4o", inputTokens = 1, outputTokens = 1 });
        await AssertAcceptedAsync(single, $$"""{"eventId":"{{id}}"}""");

        using var batch = await app.PostBatchAsync(new
        {
            events = new[]
            {
                new { eventId = id + "-1", userId = "answer-user", model = "gpt-4o", inputTokens = 1, outputTokens = 1 },
                new { eventId = id + "-2", userId = "answer-user", model = "gpt-4o", inputTokens = 1, outputTokens = 1 },
            },
        });
        await AssertAcceptedAsync(batch, $$"""{"accepted":2,"eventIds":["{{id}}-1","{{id}}-2"]}""");
    }

    /// <summary>A 202 whose body is <paramref name="json"/>, with a Content-Length (not chunked).</summary>
    private static async Task AssertAcceptedAsync(HttpResponseMessage response, string json)
    {
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        Assert.NotEqual(true, response.Headers.TransferEncodingChunked);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(json, body);
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(body), response.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task The_interactive_API_page_is_served_in_Development()
    {
        var response = await app.Api.GetAsync("/scalar/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("text/html", response.Content.Headers.ContentType?.MediaType);
    }
}
