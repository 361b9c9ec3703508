using Google.Protobuf;
using Google.Protobuf.Collections;
using LlmCostTracker.ApiService.Otlp;
using LlmCostTracker.ApiService.Otlp.Proto;
using LlmCostTracker.Contracts;

namespace LlmCostTracker.Tests.Unit;

/// <summary>How an OTLP span's GenAI attributes become a usage request (both generations of attribute names).</summary>
public sealed class GenAiSpanReaderTests
{
    private static readonly string[] Dimensions = ["environment", "feature", "team"];
    private static readonly byte[] TraceId = Convert.FromHexString("0af7651916cd43dd8448eb211c80319c");
    private static readonly byte[] SpanId = Convert.FromHexString("b7ad6b7169203331");

    private static (UsageEventRequest? Request, Dictionary<string, string[]> Problems, List<string> Dropped) Read(
        KeyValue[] attributes, KeyValue[]? resource = null, OtlpIngestOptions? options = null, byte[]? traceId = null)
    {
        var span = new Span
        {
            TraceId = ByteString.CopyFrom(traceId ?? TraceId),
            SpanId = ByteString.CopyFrom(SpanId),
            Name = "chat gpt-4o",
            StartTimeUnixNano = 1_764_000_000_000_000_000,
            EndTimeUnixNano = 1_764_000_001_500_000_000,
        };
        span.Attributes.AddRange(attributes);
        var resourceAttributes = new RepeatedField<KeyValue>();
        resourceAttributes.AddRange(resource ?? []);
        var problems = new Dictionary<string, string[]>();
        var dropped = new List<string>();
        var request = new GenAiSpanReader(options ?? new OtlpIngestOptions(), Dimensions).Read(span, resourceAttributes, problems, dropped);
        return (request, problems, dropped);
    }

    private static KeyValue Text(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };

    private static KeyValue Int(string key, long value) => new() { Key = key, Value = new AnyValue { IntValue = value } };

    private static KeyValue Double(string key, double value) => new() { Key = key, Value = new AnyValue { DoubleValue = value } };

    [Fact]
    public void Current_names_are_read_as_the_conventions_define_them_input_including_the_cache()
    {
        var (request, problems, _) = Read([
            Text("gen_ai.provider.name", "openai"), Text("gen_ai.request.model", "gpt-4o"), Text("gen_ai.response.model", "gpt-4o-2024-08-06"),
            Int("gen_ai.usage.input_tokens", 1_000), Int("gen_ai.usage.output_tokens", 300), Int("gen_ai.usage.cache_read.input_tokens", 200),
            Int("gen_ai.usage.cache_creation.input_tokens", 100), Int("gen_ai.usage.reasoning.output_tokens", 50),
            Int("gen_ai.usage.input_audio_tokens", 40), Int("gen_ai.usage.output_audio_tokens", 30), Text("user.id", "alice"),
            Text("openai.response.service_tier", "priority"), Text("llmcost.hold_id", "hold-1"),
        ]);

        Assert.Empty(problems);
        Assert.NotNull(request);
        Assert.Equal("otlp:0af7651916cd43dd8448eb211c80319c:b7ad6b7169203331", request.EventId);
        Assert.Equal("gpt-4o-2024-08-06", request.Model);
        Assert.Equal("openai", request.Provider);
        Assert.Equal((1_000L, 300L, 200L, 100L, 50L), (request.InputTokens!.Value, request.OutputTokens!.Value, request.CachedInputTokens!.Value, request.CacheWriteInputTokens!.Value, request.ReasoningOutputTokens!.Value));
        Assert.Equal((40L, 30L), (request.AudioInputTokens!.Value, request.AudioOutputTokens!.Value));
        Assert.Equal("alice", request.UserId);
        Assert.Equal("priority", request.ServiceTier);
        Assert.Equal("hold-1", request.HoldId);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1_764_000_001_500), request.OccurredAt);
    }

    [Fact]
    public void Older_names_are_read_too_and_a_provider_known_to_report_exclusive_input_gets_its_cache_added()
    {
        KeyValue[] older = [
            Text("gen_ai.request.model", "claude-sonnet-4-5"), Int("gen_ai.usage.prompt_tokens", 1_000), Int("gen_ai.usage.completion_tokens", 500),
            Int("gen_ai.usage.cache_read_input_tokens", 300), Int("gen_ai.usage.cache_creation_input_tokens", 200), Int("gen_ai.usage.reasoning_tokens", 10),
        ];

        var anthropic = Read([Text("gen_ai.system", "Anthropic"), .. older]).Request!;
        Assert.Equal(("anthropic", 1_500L, 500L, 300L, 200L, 10L),
            (anthropic.Provider, anthropic.InputTokens!.Value, anthropic.OutputTokens!.Value, anthropic.CachedInputTokens!.Value, anthropic.CacheWriteInputTokens!.Value, anthropic.ReasoningOutputTokens!.Value));

        // Another provider in the older names: the conventions' inclusive input.
        Assert.Equal(1_000, Read([Text("gen_ai.system", "openai"), .. older]).Request!.InputTokens);
        // Configured off: inclusive for Anthropic too.
        Assert.Equal(1_000, Read([Text("gen_ai.system", "anthropic"), .. older], options: new OtlpIngestOptions { ExclusiveInputProviders = [] }).Request!.InputTokens);
        // The current names for Anthropic are inclusive (the conventions say so)...
        Assert.Equal(1_000, Read([Text("gen_ai.provider.name", "anthropic"), Text("gen_ai.request.model", "m"), Int("gen_ai.usage.input_tokens", 1_000), Int("gen_ai.usage.cache_read.input_tokens", 900)]).Request!.InputTokens);
        // ...but cache counts above the input can only be exclusive, whoever reports them.
        Assert.Equal(1_100, Read([Text("gen_ai.provider.name", "openai"), Text("gen_ai.request.model", "m"), Int("gen_ai.usage.input_tokens", 100), Int("gen_ai.usage.cache_read.input_tokens", 900), Int("gen_ai.usage.cache_creation.input_tokens", 100)]).Request!.InputTokens);
    }

    [Fact]
    public void A_span_without_usage_is_none_and_one_with_unreadable_counts_names_the_attribute()
    {
        var (none, noProblems, _) = Read([Text("gen_ai.request.model", "gpt-4o"), Text("http.request.method", "POST")]);
        Assert.Null(none);
        Assert.Empty(noProblems);

        var (_, problems, _) = Read([Text("gen_ai.request.model", "gpt-4o"), Text("gen_ai.usage.input_tokens", "many"), Double("gen_ai.usage.output_tokens", 1.5)]);
        Assert.Equal(["gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"], problems.Keys.Order());

        // Whole doubles and decimal strings are counts (some exporters send them so); only the output here: input 0.
        var (request, fine, _) = Read([Text("gen_ai.request.model", "gpt-4o"), Double("gen_ai.usage.output_tokens", 12), Text("gen_ai.usage.reasoning.output_tokens", "4")]);
        Assert.Empty(fine);
        Assert.Equal((0L, 12L, 4L), (request!.InputTokens!.Value, request.OutputTokens!.Value, request.ReasoningOutputTokens!.Value));
    }

    [Fact]
    public void The_ids_must_be_a_real_trace_and_span()
    {
        var (_, problems, _) = Read([Int("gen_ai.usage.input_tokens", 1)], traceId: new byte[16]);
        Assert.Equal(["trace_id/span_id"], problems.Keys);
        Assert.Equal("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            GenAiSpanReader.TraceParent(Read([Int("gen_ai.usage.input_tokens", 1)]).Request!.EventId!));
    }

    [Theory]
    [InlineData("default", null)]
    [InlineData("auto", null)]
    [InlineData("scale", null)]
    [InlineData("flex", "flex")]
    [InlineData("Priority", "priority")]
    public void OpenAIs_service_tier_maps_to_the_tier_billed(string reported, string? tier) =>
        Assert.Equal(tier, Read([Int("gen_ai.usage.input_tokens", 1), Text("openai.response.service_tier", reported)]).Request!.ServiceTier);

    [Fact]
    public void The_user_is_the_spans_then_the_resources_then_the_default()
    {
        KeyValue usage = Int("gen_ai.usage.input_tokens", 1);
        Assert.Equal("span", Read([usage, Text("enduser.id", "end"), Text("user.id", "span")], [Text("user.id", "resource")]).Request!.UserId);
        Assert.Equal("end", Read([usage, Text("enduser.id", "end")], [Text("user.id", "resource")]).Request!.UserId);
        Assert.Equal("resource", Read([usage], [Text("enduser.id", "resource-end"), Text("user.id", "resource")]).Request!.UserId);
        Assert.Equal("resource-end", Read([usage], [Text("enduser.id", "resource-end")]).Request!.UserId);
        Assert.Equal("(unattributed)", Read([usage]).Request!.UserId);
        Assert.Equal("batch-jobs", Read([usage], options: new OtlpIngestOptions { DefaultUser = "batch-jobs" }).Request!.UserId);
    }

    [Fact]
    public void Tags_come_from_the_mapped_attributes_the_span_over_its_resource_and_llmcost_tag_over_both()
    {
        KeyValue usage = Int("gen_ai.usage.input_tokens", 1);
        var (request, _, dropped) = Read(
            [usage, Text("deployment.environment.name", "staging"), Text("llmcost.tag.team", "search"), Text("llmcost.tag.region", "eu")],
            [Text("service.name", "checkout"), Text("deployment.environment.name", "prod")]);
        Assert.Equal(new Dictionary<string, string?> { ["feature"] = "checkout", ["environment"] = "staging", ["team"] = "search" }, request!.Tags);
        Assert.Equal(["llmcost.tag.region: region is not a configured tag dimension"], dropped);

        // A value a tag cannot hold is left off, the usage still counted (the export's message says so).
        var (spaced, _, left) = Read([usage], [Text("service.name", "my service")]);
        Assert.Null(spaced!.Tags);
        Assert.Single(left);

        // A mapping to "" is off; a mapping to a dimension that is not configured is ignored here (and refused at start).
        var options = new OtlpIngestOptions();
        options.Tags["service.name"] = "";
        options.Tags["k8s.namespace.name"] = "team";
        var (mapped, _, _) = Read([usage], [Text("service.name", "checkout"), Text("k8s.namespace.name", "payments")], options);
        Assert.Equal(new Dictionary<string, string?> { ["team"] = "payments" }, mapped!.Tags);
    }

    [Fact]
    public void Options_that_map_to_an_unconfigured_dimension_or_default_to_an_invalid_user_are_refused()
    {
        var options = new OtlpIngestOptions { DefaultUser = "has space" };
        options.Tags["k8s.namespace.name"] = "namespace";
        var problems = options.Problems(Dimensions).ToList();
        Assert.Equal(2, problems.Count);
        Assert.Contains(problems, p => p.Contains("DefaultUser", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("'namespace'", StringComparison.Ordinal));
        Assert.Empty(new OtlpIngestOptions().Problems(Dimensions));
    }

    /// <summary>Why the API parses OTLP/HTTP protobuf with protobuf's default parser, which keeps what the subset leaves
    /// out as unknown fields, and not one that discards them (which costs less for spans with events): the discarding
    /// parser skips an invalid wire type instead of failing, so a malformed body would be an empty export answered 200.
    /// Should a Google.Protobuf release change that, this fails, and the API can discard.</summary>
    [Fact]
    public void Only_the_parser_that_keeps_unknown_fields_refuses_an_invalid_wire_type()
    {
        byte[] malformed = [0xff, 0xff, 0xff, 0x01];
        Assert.Throws<InvalidProtocolBufferException>(() => ExportTraceServiceRequest.Parser.ParseFrom(malformed));
        var discarded = ExportTraceServiceRequest.Parser.WithDiscardUnknownFields(true).ParseFrom(malformed);
        Assert.Empty(discarded.ResourceSpans);
    }
}
