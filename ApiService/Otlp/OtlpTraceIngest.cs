using System.Diagnostics;
using System.Diagnostics.Metrics;
using LlmCostTracker.ApiService.Ingestion;
using LlmCostTracker.ApiService.Otlp.Proto;
using LlmCostTracker.Contracts;
using Microsoft.Extensions.Options;

namespace LlmCostTracker.ApiService.Otlp;

/// <summary>Turns one OTLP trace export into usage events and publishes them through the same path as the JSON API
/// (validation, publish with the broker's confirm, one count per event id). Shared by OTLP/HTTP and OTLP/gRPC.</summary>
public sealed class OtlpTraceIngest
{
    /// <summary>The API's span in the caller's trace for a usage span published as a message of its own.</summary>
    public const string InCallerTraceSpan = "record otlp usage";

    /// <summary>Problems quoted in a partial success's message; the count says how many there were.</summary>
    private const int QuotedProblems = 5;

    private readonly GenAiSpanReader _reader;
    private readonly IReadOnlyCollection<string> _dimensions;
    private readonly UsagePublisher _publisher;
    private readonly IngestMetrics _metrics;
    private readonly TimeProvider _clock;
    private readonly int _maxSpans;
    private readonly int _maxEventsPerPublish;
    private readonly Counter<long> _spans;

    public OtlpTraceIngest(
        IOptions<OtlpIngestOptions> options, IOptions<AttributionOptions> attribution, IOptions<IngestOptions> ingest,
        UsagePublisher publisher, IngestMetrics metrics, TimeProvider clock, IMeterFactory meters)
    {
        _dimensions = attribution.Value.Dimensions;
        _reader = new GenAiSpanReader(options.Value, _dimensions);
        _maxSpans = options.Value.MaxSpansPerRequest;
        _maxEventsPerPublish = Math.Min(ingest.Value.MaxEventsPerMessage, UsageValidator.MaxBatchSize);
        _publisher = publisher;
        _metrics = metrics;
        _clock = clock;
        _spans = meters.Create(IngestMetrics.MeterName).CreateCounter<long>(
            "llmcost.otlp.spans", "{span}", "Spans received over OTLP by outcome: accepted (usage counted), skipped (no GenAI usage), rejected (invalid usage).");
    }

    /// <summary>Whether the export holds more spans than <see cref="OtlpIngestOptions.MaxSpansPerRequest"/>.</summary>
    public bool TooManySpans(ExportTraceServiceRequest export)
    {
        var count = 0;
        foreach (var resource in export.ResourceSpans)
        {
            foreach (var scope in resource.ScopeSpans)
            {
                count += scope.Spans.Count;
                if (count > _maxSpans)
                {
                    return true;
                }
            }
        }

        return false;
    }

    public string TooManySpansMessage => $"An export may hold at most {_maxSpans} spans (OtlpIngest:MaxSpansPerRequest).";

    /// <summary>Reads and publishes the export's usage spans. Throws <see cref="BrokerUnavailableException"/> when the
    /// broker did not confirm them (nothing is acknowledged: the exporter retries, and each span still counts once).
    /// Without <paramref name="publish"/> (the API's own warm-up), the export is read and validated, and nothing of it
    /// is published or counted.</summary>
    public async Task<ExportTraceServiceResponse> ExportAsync(ExportTraceServiceRequest export, CancellationToken ct, bool publish = true)
    {
        var now = _clock.GetUtcNow();
        var events = new List<LlmUsage>();
        var problems = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var dropped = new List<string>();
        var quoted = new List<string>();
        long rejected = 0, skipped = 0;
        foreach (var resourceSpans in export.ResourceSpans)
        {
            var resource = resourceSpans.Resource?.Attributes;
            foreach (var scope in resourceSpans.ScopeSpans)
            {
                foreach (var span in scope.Spans)
                {
                    problems.Clear();
                    var request = _reader.Read(span, resource, problems, dropped);
                    if (request is null && problems.Count == 0)
                    {
                        skipped++;
                        continue;
                    }

                    // A span whose attributes could not be read is not validated further (its event id may be missing).
                    var usage = request is null || problems.Count > 0
                        ? null
                        : UsageValidator.Validate(request, now, NoEventId, "", problems, _dimensions, GenAiSpanReader.TraceParent(request.EventId!));
                    if (usage is null)
                    {
                        rejected++;
                        if (quoted.Count < QuotedProblems)
                        {
                            quoted.Add($"span {Convert.ToHexStringLower(span.SpanId.Span)} ({span.Name}): {Describe(problems)}");
                        }

                        continue;
                    }

                    events.Add(usage);
                }
            }
        }

        if (!publish)
        {
            return Response(rejected, quoted, dropped);
        }

        if (rejected > 0)
        {
            _metrics.Rejected((int)rejected);
        }

        await PublishAsync(events, ct);
        _metrics.Accepted(events.Count);
        Count(events.Count, "accepted");
        Count(skipped, "skipped");
        Count(rejected, "rejected");
        return Response(rejected, quoted, dropped);
    }

    private async Task PublishAsync(List<LlmUsage> events, CancellationToken ct)
    {
        if (events.Count <= _maxEventsPerPublish)
        {
            if (events.Count > 0)
            {
                // One usage span: its publish, and the worker's write after it, continue the caller's trace when it goes
                // as a message of its own (the export request's span is linked); several events in one message are
                // linked to theirs by the worker instead.
                await _publisher.PublishAsync(events, ct, events.Count == 1 ? InCallerTraceSpan : null);
            }

            return;
        }

        // A large export goes as several messages at once; if one is not confirmed the export is not acknowledged,
        // and its retry counts only what was not counted before (event ids).
        var parts = new List<Task>();
        for (var start = 0; start < events.Count; start += _maxEventsPerPublish)
        {
            parts.Add(_publisher.PublishAsync(events.GetRange(start, Math.Min(_maxEventsPerPublish, events.Count - start)), ct));
        }

        await Task.WhenAll(parts);
    }

    private void Count(long spans, string outcome)
    {
        if (spans > 0)
        {
            _spans.Add(spans, new KeyValuePair<string, object?>("outcome", outcome));
        }
    }

    private static ExportTraceServiceResponse Response(long rejected, List<string> quoted, List<string> dropped)
    {
        var response = new ExportTraceServiceResponse();
        if (rejected == 0 && dropped.Count == 0)
        {
            return response;
        }

        // OTLP's partial success: rejected_spans with the reason; with none rejected, a message alone is a warning
        // (here: tags that were left off counted spans).
        var message = new List<string>();
        if (rejected > 0)
        {
            message.Add($"{rejected} usage span(s) rejected, nothing of them recorded: {string.Join("; ", quoted)}{(rejected > quoted.Count ? "; ..." : "")}");
        }

        if (dropped.Count > 0)
        {
            message.Add($"tags left off {dropped.Count} time(s): {string.Join("; ", dropped.Distinct().Take(QuotedProblems))}");
        }

        response.PartialSuccess = new ExportTracePartialSuccess { RejectedSpans = rejected, ErrorMessage = string.Join(". ", message) };
        return response;
    }

    /// <summary>The validator's problems under the attribute names the span used.</summary>
    private static string Describe(Dictionary<string, string[]> problems) =>
        string.Join(", ", problems.Select(p => $"{Attributes.GetValueOrDefault(p.Key, p.Key)}: {string.Join(" ", p.Value)}"));

    private static readonly Dictionary<string, string> Attributes = new(StringComparer.Ordinal)
    {
        ["userId"] = "user.id",
        ["model"] = "gen_ai.response.model / gen_ai.request.model",
        ["inputTokens"] = "gen_ai.usage.input_tokens",
        ["outputTokens"] = "gen_ai.usage.output_tokens",
        ["cachedInputTokens"] = "gen_ai.usage.cache_read.input_tokens",
        ["cacheWriteInputTokens"] = "gen_ai.usage.cache_creation.input_tokens",
        ["reasoningOutputTokens"] = "gen_ai.usage.reasoning.output_tokens",
        ["audioInputTokens"] = "gen_ai.usage.input_audio_tokens",
        ["audioOutputTokens"] = "gen_ai.usage.output_audio_tokens",
        ["holdId"] = GenAiSpanReader.HoldIdAttribute,
        ["occurredAt"] = "end_time_unix_nano",
        ["provider"] = "gen_ai.provider.name",
        ["tags"] = "llmcost.tag.*",
    };

    private static string NoEventId() => throw new UnreachableException("An OTLP usage span's event id comes from its trace and span ids.");
}
