using System.Diagnostics;
using System.Runtime.InteropServices;
using LlmCostTracker.Contracts;

namespace LlmCostTracker.WorkerService.Aggregation;

/// <summary>The links of a message's aggregation span: one to each trace its events came from (their requests', or
/// the OTLP spans they were read from), up to <see cref="MaxLinkedTraces"/>.</summary>
public static class TraceLinks
{
    public const int MaxLinkedTraces = 32;

    // Where a W3C traceparent (version-traceid-parentid-flags) holds its trace id.
    private const int TraceIdStart = 3, TraceIdEnd = 35;

    /// <summary>Null for a message of one event: its span is in that event's trace. Read only for a recorded span.</summary>
    public static IReadOnlyList<ActivityLink>? To(IReadOnlyList<LlmUsage> events)
    {
        if (events.Count <= 1)
        {
            return null;
        }

        var links = new List<ActivityLink>(Math.Min(events.Count, MaxLinkedTraces));
        // A batch's events share their request's trace. Each trace id is compared in the traceparent's text, first by
        // its first four characters, so a trace is parsed once and never hashed (ActivityTraceId hashes its hex text).
        Span<long> starts = stackalloc long[MaxLinkedTraces];
        foreach (var usage in events)
        {
            if (links.Count == MaxLinkedTraces)
            {
                break;
            }

            if (usage.TraceParent is not { Length: > TraceIdEnd } text)
            {
                continue;
            }

            var traceId = text.AsSpan(TraceIdStart, TraceIdEnd - TraceIdStart);
            var start = MemoryMarshal.Read<long>(MemoryMarshal.AsBytes(traceId));
            if (!Linked(links, starts, start, traceId) && ActivityContext.TryParse(text, null, out var linked))
            {
                starts[links.Count] = start;
                links.Add(new ActivityLink(linked));
            }
        }

        return links;
    }

    private static bool Linked(List<ActivityLink> links, Span<long> starts, long start, ReadOnlySpan<char> traceId)
    {
        for (var i = 0; i < links.Count; i++)
        {
            if (starts[i] == start && traceId.SequenceEqual(links[i].Context.TraceId.ToHexString()))
            {
                return true;
            }
        }

        return false;
    }
}
