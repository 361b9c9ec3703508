using System.Net;
using LlmCostTracker.Contracts;

namespace LlmCostTracker.Tests.Integration;

[Collection(AppCollection.Name)]
public sealed class TraceTests(AppFixture app)
{
    [Fact]
    public async Task The_alert_carries_the_trace_of_the_request_whose_event_crossed_the_threshold()
    {
        var user = AppFixture.NewUser("trace");
        await using var listener = await AlertListener.StartAsync(app.AlertSubscriber, user);
        var received = listener.Received;
        // $6.00 at once: crosses 80% and 100% of the default budget in this one event.
        var response = await app.PostUsageAsync(new { userId = user, model = "gpt-4o", inputTokens = 0, outputTokens = 600_000 });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var traceResponse = Assert.Single(response.Headers.GetValues("traceresponse"));
        var requestTraceId = traceResponse.Split('-')[1];
        Assert.Matches("^[0-9a-f]{32}$", requestTraceId);

        await Eventually.ReturnsAsync(() => Task.FromResult(received.Count), count => count >= 2, because: "two alerts");
        Assert.All(received, alert =>
        {
            Assert.NotNull(alert.TraceParent);
            Assert.Equal(requestTraceId, alert.TraceParent!.Split('-')[1]);
        });
    }

    [Fact]
    public async Task Every_response_names_its_trace_even_an_error()
    {
        var response = await app.Api.GetAsync("/api/v1/admin/llm-costs");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$", Assert.Single(response.Headers.GetValues("traceresponse")));
    }
}
