using System.Net;
using LlmCostTracker.ApiService.Apis;
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
    public async Task The_ledger_write_that_served_each_request_is_reached_from_its_trace_in_the_exported_telemetry()
    {
        // Posted at once, so some messages share a ledger write (a "write ledger" span) and some may be written alone.
        var user = AppFixture.NewUser("otlp");
        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => app.PostUsageAsync(FaultScenarios.Event(user))));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        var traceIds = responses.Select(r => Assert.Single(r.Headers.GetValues("traceresponse")).Split('-')[1]).ToArray();
        await app.WaitForRequestsAsync(user, 10);
        var telemetry = app.Telemetry ?? throw new InvalidOperationException("The main app exports to the test's collector.");

        // As someone following a request in the dashboard would: its trace, the worker's span for its message (in that
        // trace or linking it), and from there the Redis call that counted it, under the message's span or under the
        // shared write (which is in the first message's trace, links the others, and is linked from each message's span).
        foreach (var traceId in traceIds)
        {
            // Each service exports on its own schedule: wait for the request's root span as well as the worker's.
            var (aggregate, write, redis) = await Eventually.ReturnsAsync(
                () => Task.FromResult(Follow(telemetry.Spans, traceId)),
                found => found.Redis is not null && telemetry.Spans.Any(s => s.TraceId == traceId && s.ParentSpanId.Length == 0),
                because: $"the spans of request {traceId}, its message and its write to be exported");
            // The request's own span is named by the documented route (the dashboard's Traces page lists it so).
            Assert.Equal($"POST {UsageApi.Route}", telemetry.Spans.First(s => s.TraceId == traceId && s.ParentSpanId.Length == 0).Name);
            Assert.True(aggregate!.TraceId == traceId || aggregate.Links.Any(l => l.TraceId == traceId));
            if (write is not null)
            {
                Assert.True(write.ParentSpanId == aggregate.SpanId || write.Links.Any(l => l.SpanId == aggregate.SpanId),
                    "a shared write is in the first message's trace or links the message");
            }

            Assert.Equal(write?.TraceId ?? aggregate.TraceId, redis!.TraceId);
        }

        Assert.Equal(0, telemetry.Unreadable);
    }

    private static (OtlpCollector.Span? Aggregate, OtlpCollector.Span? Write, OtlpCollector.Span? Redis) Follow(
        IReadOnlyList<OtlpCollector.Span> spans, string traceId)
    {
        var aggregate = spans.FirstOrDefault(s => s.Name == "aggregate llm usage" && (s.TraceId == traceId || s.Links.Any(l => l.TraceId == traceId)));
        if (aggregate is null)
        {
            return (null, null, null);
        }

        var write = spans.FirstOrDefault(s => s.Name == "write ledger" && (s.ParentSpanId == aggregate.SpanId || aggregate.Links.Any(l => l.SpanId == s.SpanId)));
        var redis = spans.FirstOrDefault(s => s.Name == "EVALSHA" && s.ParentSpanId == (write?.SpanId ?? aggregate.SpanId));
        return (aggregate, write, redis);
    }

    [Fact]
    public async Task A_budget_hold_s_Redis_step_is_one_span_under_its_request()
    {
        // The API makes its own Redis spans (the per-command instrumentation is off): the hold's two commands, sent
        // together, are one client span whose parent is in the request's trace.
        var response = await app.Api.SendAsync(app.Ingest("/api/v1/budget-holds", new { userId = AppFixture.NewUser("hold-trace"), model = "gpt-4o", inputTokens = 100, maxOutputTokens = 100 }));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var traceId = Assert.Single(response.Headers.GetValues("traceresponse")).Split('-')[1];
        var telemetry = app.Telemetry ?? throw new InvalidOperationException("The main app exports to the test's collector.");

        var redis = await Eventually.ReturnsAsync(
            () => Task.FromResult(telemetry.Spans.Where(s => s.TraceId == traceId && s.Name == "SET EVALSHA").ToList()),
            spans => spans.Count > 0 && telemetry.Spans.Any(s => s.TraceId == traceId && s.ParentSpanId.Length == 0),
            because: $"the hold's Redis span and its request's span in trace {traceId} to be exported");
        var span = Assert.Single(redis);
        Assert.Contains(telemetry.Spans, s => s.TraceId == traceId && s.SpanId == span.ParentSpanId);
        Assert.DoesNotContain(telemetry.Spans, s => s.TraceId == traceId && s.Name is "SET" or "EVALSHA");
    }

    [Fact]
    public async Task Every_response_names_its_trace_even_an_error()
    {
        var response = await app.Api.GetAsync("/api/v1/admin/llm-costs");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$", Assert.Single(response.Headers.GetValues("traceresponse")));
    }
}
