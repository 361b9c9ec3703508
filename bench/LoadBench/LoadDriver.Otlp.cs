using System.Diagnostics;
using System.Net;
using Google.Protobuf;
using LlmCostTracker.ApiService.Otlp.Proto;

namespace LlmCostTracker.LoadBench;

/// <summary>The OTLP phases: the same usage as the JSON phases, sent as OpenTelemetry GenAI spans to
/// <c>POST /v1/traces</c> (http/protobuf), as an app's OTLP exporter would.</summary>
public sealed partial class LoadDriver
{
    private const string OtlpPath = "v1/traces";
    private const string Protobuf = "application/x-protobuf";

    public Task<PhaseResult> OtlpSpansAsync() => OtlpSpansAsync(_options.SingleEvents);

    public Task<PhaseResult> OtlpBatchesAsync() => OtlpBatchesAsync(_options.BatchEvents);

    public async Task OtlpWarmUpAsync()
    {
        await OtlpSpansAsync(_options.WarmUpEvents);
        await OtlpBatchesAsync(_options.WarmUpBatchEvents);
    }

    /// <summary>One span an export from <see cref="BenchOptions.Concurrency"/> clients; now and then an export is sent
    /// again (an exporter's retry), which must count once.</summary>
    private Task<PhaseResult> OtlpSpansAsync(int spans) =>
        ClientsAsync(spans, seed: 2000, random => NewExport(random, 1).ToByteArray(), ExportUntilAcceptedAsync);

    /// <summary><see cref="BenchOptions.OtlpBatchSpans"/> spans an export from <see cref="BenchOptions.BatchConcurrency"/> clients.</summary>
    private Task<PhaseResult> OtlpBatchesAsync(int spans) =>
        BatchClientsAsync(spans / _options.OtlpBatchSpans, _options.OtlpBatchSpans, seed: 3000,
            random => NewExport(random, _options.OtlpBatchSpans).ToByteArray(), ExportUntilAcceptedAsync);

    /// <summary>An export as the .NET SDK sends one: a resource, a scope, the chat spans of
    /// Microsoft.Extensions.AI's OpenTelemetryChatClient (its attributes), the user on each.</summary>
    private ExportTraceServiceRequest NewExport(Random random, int spans)
    {
        var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "Experimental.Microsoft.Extensions.AI" } };
        var ids = new byte[24];
        var end = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
        for (var i = 0; i < spans; i++)
        {
            // A fresh trace id (the event id is made of it): the seeded draws repeat in every pass of a phase.
            Guid.NewGuid().TryWriteBytes(ids);
            random.NextBytes(ids.AsSpan(16));
            var user = random.Next(_options.Users);
            var model = Models[random.Next(Models.Length)];
            var input = random.Next(50, 4_000);
            var span = new Span
            {
                TraceId = ByteString.CopyFrom(ids, 0, 16),
                SpanId = ByteString.CopyFrom(ids, 16, 8),
                Name = $"chat {model}",
                Kind = Span.Types.SpanKind.Client,
                StartTimeUnixNano = end - 800_000_000,
                EndTimeUnixNano = end,
                Attributes =
                {
                    Text("gen_ai.operation.name", "chat"),
                    Text("gen_ai.request.model", model),
                    Text("gen_ai.response.model", model),
                    Int("gen_ai.usage.input_tokens", input),
                    Int("gen_ai.usage.cache_read.input_tokens", random.Next(0, 50)),
                    Int("gen_ai.usage.output_tokens", random.Next(10, 1_500)),
                    Text("gen_ai.response.finish_reasons", "stop"),
                    Text("user.id", $"bench-{_run}-u{user}"),
                },
            };
            if (_options.Tags)
            {
                span.Attributes.Add(Text("llmcost.tag.team", $"team-{user % _options.TagTeams}"));
                span.Attributes.Add(Text("llmcost.tag.feature", $"feature-{random.Next(_options.TagFeatures)}"));
                span.Attributes.Add(Text("llmcost.tag.environment", Environments[user % Environments.Length]));
            }

            scope.Spans.Add(span);
        }

        // No service.name: it maps to the feature tag by default, and the JSON phases' events are untagged (--tags
        // tags both alike).
        return new ExportTraceServiceRequest
        {
            ResourceSpans = { new ResourceSpans { Resource = new Resource { Attributes = { Text("telemetry.sdk.language", "dotnet") } }, ScopeSpans = { scope } } },
        };
    }

    private static KeyValue Text(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };

    private static KeyValue Int(string key, long value) => new() { Key = key, Value = new AnyValue { IntValue = value } };

    /// <summary>200 with no partial success (an empty response) is accepted; 503 is retried as an exporter would.</summary>
    private async Task<double> ExportUntilAcceptedAsync(byte[] body)
    {
        var clock = Stopwatch.StartNew();
        for (var attempt = 0; ; attempt++)
        {
            var (status, answer) = await _raw.PostAsync(OtlpPath, body, Protobuf);
            if (status == (int)HttpStatusCode.OK && answer.Length == 0)
            {
                return clock.Elapsed.TotalMilliseconds;
            }

            if (status != (int)HttpStatusCode.ServiceUnavailable || attempt > 20)
            {
                throw new InvalidOperationException($"{OtlpPath} answered {status}: {answer}");
            }

            await Task.Delay(100);
        }
    }
}
