using LlmCostTracker.Contracts;
using LlmCostTracker.WorkerService.Aggregation;

namespace LlmCostTracker.Tests.Unit;

/// <summary>The aggregation span's links (<see cref="TraceLinks"/>): one a trace, in the order first seen, at most
/// <see cref="TraceLinks.MaxLinkedTraces"/>.</summary>
public sealed class TraceLinksTests
{
    private static LlmUsage Event(string? traceParent) => new()
    {
        EventId = Guid.NewGuid().ToString("N"), UserId = "u", Model = "gpt-4o", InputTokens = 1, CachedInputTokens = 0, OutputTokens = 1,
        OccurredAt = DateTimeOffset.UnixEpoch, TraceParent = traceParent,
    };

    private static string Parent(string traceId, string spanId = "00f067aa0ba902b7") => $"00-{traceId}-{spanId}-01";

    private static string TraceId(int n) => $"{n:x32}";

    [Fact]
    public void Each_trace_is_linked_once_in_the_order_first_seen()
    {
        var a = TraceId(1);
        var b = TraceId(2);
        var links = TraceLinks.To([Event(Parent(a)), Event(Parent(b, "00f067aa0ba902b8")), Event(Parent(a, "00f067aa0ba902b9")), Event(Parent(b))]);

        Assert.Equal([a, b], links!.Select(l => l.Context.TraceId.ToHexString()));
        // The first event's span in each trace.
        Assert.Equal("00f067aa0ba902b8", links![1].Context.SpanId.ToHexString());
    }

    [Fact]
    public void Traces_that_share_their_first_characters_are_told_apart()
    {
        var a = "4bf92f3577b34da6a3ce929d0e0e4736";
        var b = "4bf92f3577b34da6a3ce929d0e0e4737";
        var c = "4bf9" + new string('0', 28);
        var links = TraceLinks.To([Event(Parent(a)), Event(Parent(b)), Event(Parent(c)), Event(Parent(b))]);

        Assert.Equal([a, b, c], links!.Select(l => l.Context.TraceId.ToHexString()));
    }

    [Fact]
    public void Events_without_a_valid_traceparent_are_left_out()
    {
        var a = TraceId(7);
        var links = TraceLinks.To([Event(null), Event(""), Event("00-" + new string('0', 32) + "-00f067aa0ba902b7-01"), Event("not a traceparent at all, just long text"),
            Event(Parent(a.ToUpperInvariant().Replace('0', 'Z'))), Event(Parent(a))]);

        Assert.Equal([a], links!.Select(l => l.Context.TraceId.ToHexString()));
    }

    [Fact]
    public void At_most_the_bound_of_traces_is_linked()
    {
        var events = Enumerable.Range(1, TraceLinks.MaxLinkedTraces + 10).Select(n => Event(Parent(TraceId(n)))).ToList();

        var links = TraceLinks.To(events);

        Assert.Equal(Enumerable.Range(1, TraceLinks.MaxLinkedTraces).Select(TraceId), links!.Select(l => l.Context.TraceId.ToHexString()));
    }

    [Fact]
    public void A_message_of_one_event_has_no_links() => Assert.Null(TraceLinks.To([Event(Parent(TraceId(1)))]));
}
