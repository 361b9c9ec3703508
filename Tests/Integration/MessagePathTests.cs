using System.Net;
using System.Net.Http.Json;

namespace LlmCostTracker.Tests.Integration;

[Collection(AppCollection.Name)]
public sealed class MessagePathTests(AppFixture fixture)
{
    [Fact]
    public async Task A_posted_event_travels_through_RabbitMQ_to_the_worker_and_lands_in_Redis()
    {
        var userId = $"path-{Guid.NewGuid():N}";
        var response = await fixture.Api.SendAsync(fixture.Ingest("/api/v1/llm-usage",
            new { userId, model = "gpt-4o", inputTokens = 1000, outputTokens = 500 }));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<Dictionary<string, string>>();
        Assert.False(string.IsNullOrEmpty(body!["eventId"]));

        var key = fixture.Keys.UserMonth(userId, AppFixture.CurrentMonth);
        var requests = await Eventually.ReturnsAsync(
            () => fixture.Redis.GetDatabase().HashGetAsync(key, "requests"),
            value => value.HasValue);
        Assert.Equal(1, (long)requests);
    }

    [Fact]
    public async Task Both_services_report_healthy_without_exposing_details()
    {
        Assert.Equal("Healthy", await fixture.Api.GetStringAsync("/health"));
        using var worker = fixture.App.CreateHttpClient("workerservice", "http");
        Assert.Equal("Healthy", await worker.GetStringAsync("/health"));
        Assert.Equal("Healthy", await worker.GetStringAsync("/alive"));
    }
}
