using System.Net;
using LlmCostTracker.Contracts;

namespace LlmCostTracker.Tests.Integration;

[Collection(FaultCollection.Name)]
public sealed class SentryTests(FaultAppFixture app)
{
    [Fact]
    public async Task An_unhandled_API_exception_reaches_Sentry_with_its_trace_id()
    {
        // Redis stopped: the report's reads throw, an exception nothing in the API handles.
        await app.StopResourceAsync("redis");
        try
        {
            var response = await app.Api.SendAsync(app.Admin(HttpMethod.Get, "/api/v1/admin/llm-costs"));
            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
            var traceId = Assert.Single(response.Headers.GetValues("traceresponse")).Split('-')[1];

            // The API's envelope for this request, found by its trace id (the worker may report Redis errors too).
            var envelope = await Eventually.ReturnsAsync(
                () => Task.FromResult(app.Sentry.Envelopes.FirstOrDefault(e => e.Body.Contains($"\"trace_id\":\"{traceId}\"", StringComparison.Ordinal))),
                e => e.Body is not null, because: "the API's exception envelope");
            Assert.Equal("/api/42/envelope/", envelope.Path);
            Assert.Contains("LlmCostTracker.ApiService", envelope.Body);
            Assert.Contains("RedisConnectionException", envelope.Body);
        }
        finally
        {
            await app.StartResourceAsync("redis");
        }
    }

    [Fact]
    public async Task A_consumer_that_fails_for_good_reaches_Sentry_with_a_trace_id()
    {
        await using var bus = await TestBus.StartAsync(app.App);
        // A message no API would send: an event without a model makes the consumer throw on every attempt. Its id finds
        // its report among those of other messages this app's tests make fail.
        var messageId = Guid.NewGuid();
        await bus.Publish(new LlmUsageRecorded
        {
            Events =
            [
                new LlmUsage
                {
                    EventId = Guid.NewGuid().ToString("N"), UserId = "poison", Model = null!, InputTokens = 1,
                    CachedInputTokens = 0, OutputTokens = 1, OccurredAt = DateTimeOffset.UtcNow,
                },
            ],
        }, messageId);

        var envelope = await Eventually.ReturnsAsync(
            () => Task.FromResult(app.Sentry.Envelopes.FirstOrDefault(e => e.Body.Contains("LlmUsageRecorded consumer failed for good", StringComparison.Ordinal)
                && e.Body.Contains(messageId.ToString(), StringComparison.Ordinal))),
            e => e.Body is not null, because: "the worker's fault envelope");
        Assert.Matches("\"trace_id\":\"[0-9a-f]{32}\"", envelope.Body);
    }
}
