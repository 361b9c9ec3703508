using System.Text;
using System.Text.Json;
using Google.Protobuf;
using LlmCostTracker.ApiService.Ingestion;
using LlmCostTracker.ApiService.Otlp;
using LlmCostTracker.ApiService.Otlp.Proto;
using LlmCostTracker.Contracts;
using BenchmarkDotNet.Attributes;

namespace LlmCostTracker.MicroBench;

/// <summary>The API's in-process work for one usage event (#33): a JSON event as bench/wrk/usage.lua posts it, read
/// and validated, against a one-span OTLP export as bench/wrk/otlp.lua posts it, parsed, read and validated.</summary>
[MemoryDiagnoser]
public class OtlpIngestBenchmarks
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private static readonly string[] Dimensions = ["environment", "feature"];
    private readonly GenAiSpanReader _reader = new(new OtlpIngestOptions(), Dimensions);
    private static readonly MessageParser<ExportTraceServiceRequest> Discarding = ExportTraceServiceRequest.Parser.WithDiscardUnknownFields(true);
    private byte[] _json = [];
    private byte[] _otlp = [];
    private byte[] _rich = [];

    [GlobalSetup]
    public void Setup()
    {
        _json = Encoding.UTF8.GetBytes("""{"eventId":"wrk-1765000000-1-12345","userId":"wrk-345","model":"gpt-4o","inputTokens":1200,"outputTokens":350}""");
        var span = new Span
        {
            TraceId = ByteString.CopyFrom(Convert.FromHexString("0102030405060708090a0b0c0d0e0f10")),
            SpanId = ByteString.CopyFrom(Convert.FromHexString("1112131415161718")),
            Name = "chat gpt-4o",
            Kind = Span.Types.SpanKind.Client,
            StartTimeUnixNano = (ulong)(Now.ToUnixTimeMilliseconds() - 800) * 1_000_000,
            EndTimeUnixNano = (ulong)Now.ToUnixTimeMilliseconds() * 1_000_000,
        };
        span.Attributes.Add(Text("gen_ai.operation.name", "chat"));
        span.Attributes.Add(Text("gen_ai.request.model", "gpt-4o"));
        span.Attributes.Add(Text("gen_ai.response.model", "gpt-4o"));
        span.Attributes.Add(new KeyValue { Key = "gen_ai.usage.input_tokens", Value = new AnyValue { IntValue = 1200 } });
        span.Attributes.Add(new KeyValue { Key = "gen_ai.usage.output_tokens", Value = new AnyValue { IntValue = 350 } });
        span.Attributes.Add(Text("user.id", "wrk-345"));
        var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "Experimental.Microsoft.Extensions.AI" } };
        scope.Spans.Add(span);
        var resource = new ResourceSpans();
        resource.ScopeSpans.Add(scope);
        var export = new ExportTraceServiceRequest();
        export.ResourceSpans.Add(resource);
        _otlp = export.ToByteArray();

        // The same span with what the subset leaves out, as an SDK writes it for a failed call: a status (15: code 2,
        // message) and an exception event (11: time, name, three attributes). Parsed with the subset, they are fields
        // it does not know.
        var extra = Written(output =>
        {
            output.WriteTag(15, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(Status(2, "rate limited: retry after 20 s"));
            output.WriteTag(11, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(Event("exception", ("exception.type", "System.ClientModel.ClientResultException"),
                ("exception.message", "HTTP 429 (Too Many Requests): Rate limit reached for gpt-4o in organization org-x on tokens per min."),
                ("exception.stacktrace", string.Concat(Enumerable.Repeat("   at OpenAI.Chat.ChatClient.CompleteChatAsync(...)\n", 20)))));
        });
        var rich = Span.Parser.ParseFrom(span.ToByteArray().Concat(extra).ToArray());
        scope.Spans.Clear();
        scope.Spans.Add(rich);
        _rich = export.ToByteArray();
    }

    /// <summary>Protobuf bytes written by hand: fields the API's subset does not define.</summary>
    private static ByteString Written(Action<CodedOutputStream> write)
    {
        var bytes = new MemoryStream();
        var output = new CodedOutputStream(bytes);
        write(output);
        output.Flush();
        return ByteString.CopyFrom(bytes.ToArray());
    }

    private static ByteString Status(int code, string message) => Written(output =>
    {
        output.WriteTag(2, WireFormat.WireType.LengthDelimited);
        output.WriteString(message);
        output.WriteTag(3, WireFormat.WireType.Varint);
        output.WriteInt32(code);
    });

    private static ByteString Event(string name, params (string Key, string Value)[] attributes) => Written(output =>
    {
        output.WriteTag(1, WireFormat.WireType.Fixed64);
        output.WriteFixed64((ulong)Now.ToUnixTimeMilliseconds() * 1_000_000);
        output.WriteTag(2, WireFormat.WireType.LengthDelimited);
        output.WriteString(name);
        foreach (var (key, value) in attributes)
        {
            output.WriteTag(3, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(Text(key, value).ToByteString());
        }
    });

    private static KeyValue Text(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };

    [Benchmark(Baseline = true)]
    public LlmUsage? JsonEvent()
    {
        var body = JsonSerializer.Deserialize(_json, IngestRequestJson.Context.UsageEventBody)!;
        return UsageValidator.Validate(body.ToRequest(), Now, () => "id", "", new Dictionary<string, string[]>(), Dimensions,
            "00-0102030405060708090a0b0c0d0e0f10-1112131415161718-01");
    }

    [Benchmark]
    public ExportTraceServiceRequest OtlpParse() => ExportTraceServiceRequest.Parser.ParseFrom(_otlp);

    [Benchmark]
    public ExportTraceServiceRequest OtlpParseDiscarding() => Discarding.ParseFrom(_otlp);

    [Benchmark]
    public ExportTraceServiceRequest OtlpParseRich() => ExportTraceServiceRequest.Parser.ParseFrom(_rich);

    [Benchmark]
    public ExportTraceServiceRequest OtlpParseRichDiscarding() => Discarding.ParseFrom(_rich);

    [Benchmark]
    public LlmUsage? OtlpSpan()
    {
        var export = ExportTraceServiceRequest.Parser.ParseFrom(_otlp);
        var problems = new Dictionary<string, string[]>();
        var dropped = new List<string>();
        LlmUsage? last = null;
        foreach (var resource in export.ResourceSpans)
        {
            foreach (var scope in resource.ScopeSpans)
            {
                foreach (var span in scope.Spans)
                {
                    var request = _reader.Read(span, resource.Resource?.Attributes, problems, dropped)!;
                    last = UsageValidator.Validate(request, Now, () => "id", "", problems, Dimensions, GenAiSpanReader.TraceParent(request.EventId!))!;
                }
            }
        }

        return last;
    }
}
