using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using LlmCostTracker.ApiService.Otlp.Proto;
using Microsoft.Extensions.AI;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace LlmCostTracker.Tests.Integration;

/// <summary>OTLP trace exports as usage, from clients no one here wrote: Microsoft.Extensions.AI's
/// OpenTelemetryChatClient exported by the OpenTelemetry SDK's own OTLP exporter, over http/protobuf and gRPC.</summary>
[Collection(AppCollection.Name)]
public sealed class OtlpIngestTests(AppFixture app)
{
    [Theory]
    [InlineData(OtlpExportProtocol.HttpProtobuf)]
    [InlineData(OtlpExportProtocol.Grpc)]
    public async Task Chat_spans_exported_by_the_OpenTelemetry_SDK_are_priced_exactly_once_also_when_exported_twice(OtlpExportProtocol protocol)
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        var user = AppFixture.NewUser("otlp");
        var service = $"otlp-app-{run}";
        var source = $"LlmCostTracker.Tests.Otlp.{run}";
        var ended = new List<Activity>();
        // The provider owns the exporter (and disposes it); the test exports through it a second time below.
        var exporter = new OtlpTraceExporter(new OtlpExporterOptions
        {
            Protocol = protocol,
            Endpoint = protocol == OtlpExportProtocol.Grpc
                ? app.App.GetEndpoint("apiservice", "otlp")
                : new Uri(app.App.GetEndpoint("apiservice", "http"), "/v1/traces"),
            Headers = $"X-Api-Key={app.IngestApiKey}",
        });
        using var tracing = Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService(service).AddAttributes([new("deployment.environment.name", "otlp-test")]))
            .AddSource(source)
            .AddProcessor(new Recorder(ended))
            .AddProcessor(new BatchActivityExportProcessor(exporter))
            .Build();

        // The lines a .NET app adds (docs/otlp-ingestion.md): the OpenTelemetry chat client, and the user on its span.
        using (var chat = new ChatClientBuilder(new ScriptedModel())
            .UseOpenTelemetry(sourceName: source)
            .Use(async (messages, options, next, ct) =>
            {
                Activity.Current?.SetTag("user.id", user);
                await next(messages, options, ct);
            })
            .Build())
        {
            // Exported as an app's SDK does, from its batch processor's own thread (outside the chat span), one
            // export a call.
            Assert.Equal("ok", (await chat.GetResponseAsync("gpt-4o, please")).Text);
            Assert.True(tracing.ForceFlush(30_000));
            Assert.Equal("ok", (await chat.GetResponseAsync("the mini, please", new ChatOptions { ModelId = "gpt-4o-mini" })).Text);
            Assert.True(tracing.ForceFlush(30_000));
        }

        // gpt-4o: 800k × $2.50 + 200k cached × $1.25 + 100k × $10 = $3.25; gpt-4o-mini: 1M × $0.15 + 1M × $0.60 = $0.75.
        var totals = await app.WaitForRequestsAsync(user, 2);
        Assert.Equal(2, totals["requests"]);
        Assert.Equal(4_000_000, totals["cost"]);
        Assert.Equal(2_000_000, totals["input"]);
        Assert.Equal(200_000, totals["cached"]);
        Assert.Equal(1_100_000, totals["output"]);

        // Tags from the resource (service.name → feature, deployment.environment.name → environment).
        var feature = await TagTests.WaitForValueAsync(app, "feature", service, 2);
        Assert.Equal(4m, feature.GetProperty("costUsd").GetDecimal());

        // The same spans exported again (an exporter's retry): accepted, and counted once.
        Assert.Equal(2, ended.Count);
        Assert.Equal(ExportResult.Success, exporter.Export(new Batch<Activity>([.. ended], ended.Count)));
        using (var marker = await app.PostUsageAsync(new { userId = user, model = "gpt-4o", inputTokens = 0, outputTokens = 0 }))
        {
            Assert.Equal(HttpStatusCode.Accepted, marker.StatusCode);
        }

        totals = await app.WaitForRequestsAsync(user, 3);
        Assert.Equal(3, totals["requests"]);
        Assert.Equal(4_000_000, totals["cost"]);

        // Each chat span's trace goes on into the services' own spans (the event's parent is the exported span):
        // the worker's write is in the caller's trace.
        foreach (var traceId in ended.Select(a => a.TraceId.ToHexString()))
        {
            await Eventually.ReturnsAsync(
                () => Task.FromResult(app.Telemetry!.Spans.Where(s => s.TraceId == traceId).Select(s => s.Name).ToList()),
                names => names.Contains("record otlp usage") && names.Contains("aggregate llm usage"),
                because: $"the API's and the worker's spans in the chat span's trace {traceId}");
        }
    }

    [Fact]
    public async Task OTLP_JSON_with_the_older_attribute_names_gzip_and_partial_success()
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        var user = AppFixture.NewUser("otlp-json");
        var endUser = AppFixture.NewUser("otlp-enduser");
        var end = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
        var export = new
        {
            resourceSpans = new object[]
            {
                new
                {
                    resource = new { attributes = new object[] { Attribute("service.name", $"py-{run}"), Attribute("user.id", user) } },
                    scopeSpans = new object[]
                    {
                        new
                        {
                            scope = new { name = "opentelemetry.instrumentation.anthropic" },
                            spans = new object[]
                            {
                                // Older names, Anthropic-style exclusive input: 1,000 uncached + 4,000 read + 1,000 written.
                                JsonSpan("1", end, Attribute("gen_ai.system", "anthropic"), Attribute("gen_ai.request.model", "claude-sonnet-4-5"),
                                    IntAttribute("gen_ai.usage.prompt_tokens", 1_000), IntAttribute("gen_ai.usage.completion_tokens", 500),
                                    IntAttribute("gen_ai.usage.cache_read_input_tokens", 4_000), IntAttribute("gen_ai.usage.cache_creation_input_tokens", 1_000),
                                    Attribute("llmcost.tag.team", $"t-{run}")),
                                // Current names, inclusive input, the user on the span (enduser.id) over the resource's.
                                JsonSpan("2", end, Attribute("gen_ai.provider.name", "openai"), Attribute("gen_ai.response.model", "gpt-4o-mini-2024-07-18"),
                                    IntAttribute("gen_ai.usage.input_tokens", 10_000), IntAttribute("gen_ai.usage.output_tokens", 1_000),
                                    IntAttribute("gen_ai.usage.cache_read.input_tokens", 2_000), Attribute("enduser.id", endUser)),
                                // No usage: skipped.
                                JsonSpan("3", end, Attribute("http.request.method", "GET")),
                                // Unreadable usage: rejected, nothing of it recorded.
                                JsonSpan("4", end, Attribute("gen_ai.request.model", "gpt-4o"), Attribute("gen_ai.usage.input_tokens", "lots"), IntAttribute("gen_ai.usage.output_tokens", 1)),
                            },
                        },
                    },
                },
                // A span that names no user, in a resource that names none either: the default user's.
                new
                {
                    resource = new { attributes = new object[] { Attribute("service.name", $"py-{run}") } },
                    scopeSpans = new object[]
                    {
                        new { spans = new object[] { JsonSpan("5", end, Attribute("gen_ai.request.model", "gpt-4o"), IntAttribute("gen_ai.usage.output_tokens", 1)) } },
                    },
                },
            },
        };

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/traces") { Content = Gzip(JsonSerializer.SerializeToUtf8Bytes(export), "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", app.IngestApiKey);
        using var response = await app.Api.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var partial = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("partialSuccess");
        Assert.Equal("1", partial.GetProperty("rejectedSpans").ToString());
        Assert.Contains("gen_ai.usage.input_tokens must be a whole number", partial.GetProperty("errorMessage").GetString(), StringComparison.Ordinal);

        // claude-sonnet-4-5: 1,000 × $3 + 4,000 × $0.30 + 1,000 × $3.75 + 500 × $15 = 15,450 µ$ (input recorded as 6,000).
        var totals = await app.WaitForRequestsAsync(user, 1);
        Assert.Equal(15_450, totals["cost"]);
        Assert.Equal(6_000, totals["input"]);
        // gpt-4o-mini: 8,000 × $0.15 + 2,000 × $0.075 + 1,000 × $0.60 = 1,950 µ$.
        var other = await app.WaitForRequestsAsync(endUser, 1);
        Assert.Equal(1_950, other["cost"]);
        var team = await TagTests.WaitForValueAsync(app, "team", $"t-{run}", 1);
        Assert.Equal(0.01545m, team.GetProperty("costUsd").GetDecimal());

        // The rejected span's model never reached the ledger for this user: 1 request only.
        Assert.Equal(1, (await app.UserTotalsAsync(user))["requests"]);

        // The default user is a user like any other in the reports.
        await app.WaitForRequestsAsync("(unattributed)", 1);
        using var unattributed = await app.Api.SendAsync(app.Admin(HttpMethod.Get, "/api/v1/admin/llm-costs/(unattributed)"));
        Assert.Equal(HttpStatusCode.OK, unattributed.StatusCode);
    }

    [Fact]
    public async Task Exports_without_a_key_in_an_unknown_encoding_unreadable_or_too_large_are_refused()
    {
        var body = new ExportTraceServiceRequest().ToByteArray();
        using (var none = await app.Api.PostAsync("/v1/traces", Content(body, "application/x-protobuf")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        }

        using (var wrong = await SendAsync(body, "application/x-protobuf", key: "not-the-key"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }

        using (var empty = await SendAsync(body, "application/x-protobuf"))
        {
            Assert.Equal(HttpStatusCode.OK, empty.StatusCode);
            Assert.Equal("application/x-protobuf", empty.Content.Headers.ContentType?.MediaType);
            Assert.Empty(await empty.Content.ReadAsByteArrayAsync());
        }

        using (var text = await SendAsync(body, "text/plain"))
        {
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, text.StatusCode);
            Assert.Contains("application/x-protobuf", await text.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var garbage = await SendAsync([0xff, 0xff, 0xff, 0x01], "application/x-protobuf"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, garbage.StatusCode);
            Assert.Equal("application/problem+json", garbage.Content.Headers.ContentType?.MediaType);
        }

        // 10,001 spans (OtlpIngest:MaxSpansPerRequest is 10,000), and 17 MB of zeros that gzip to a few kilobytes.
        var scope = new ScopeSpans();
        scope.Spans.AddRange(Enumerable.Range(0, 10_001).Select(_ => new Span()));
        var tooMany = new ExportTraceServiceRequest { ResourceSpans = { new ResourceSpans { ScopeSpans = { scope } } } };
        using (var many = await SendAsync(tooMany.ToByteArray(), "application/x-protobuf"))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, many.StatusCode);
            Assert.Contains("MaxSpansPerRequest", await many.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var bomb = await SendAsync(new byte[17 * 1024 * 1024], "application/x-protobuf", gzip: true))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, bomb.StatusCode);
            Assert.Contains("MaxRequestBytes", await bomb.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_protobuf_export_sent_in_pieces_with_fields_the_subset_leaves_out_counts_and_one_past_the_byte_limit_is_refused()
    {
        var user = AppFixture.NewUser("otlp-pieces");
        var end = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
        var usage = new Span
        {
            TraceId = ByteString.CopyFrom(Guid.NewGuid().ToByteArray()),
            SpanId = ByteString.CopyFrom(BitConverter.GetBytes(Random.Shared.NextInt64(1, long.MaxValue))),
            Name = "chat gpt-4o-mini",
            StartTimeUnixNano = end - 1_000_000,
            EndTimeUnixNano = end,
            Attributes =
            {
                new KeyValue { Key = "gen_ai.response.model", Value = new AnyValue { StringValue = "gpt-4o-mini-2024-07-18" } },
                new KeyValue { Key = "gen_ai.usage.input_tokens", Value = new AnyValue { IntValue = 10_000 } },
                new KeyValue { Key = "gen_ai.usage.output_tokens", Value = new AnyValue { IntValue = 1_000 } },
                new KeyValue { Key = "user.id", Value = new AnyValue { StringValue = user } },
            },
        };
        // An event (field 11) and a status (field 15), which the .proto subset does not define: an exporter sends them.
        var withUnknown = Span.Parser.ParseFrom([.. usage.ToByteArray(), 0x5a, 0x03, 0x12, 0x01, (byte)'e', 0x7a, 0x02, 0x18, 0x01]);
        var export = new ExportTraceServiceRequest { ResourceSpans = { new ResourceSpans { ScopeSpans = { new ScopeSpans { Spans = { withUnknown } } } } } };
        Assert.NotEqual(usage.CalculateSize(), withUnknown.CalculateSize());

        using (var pieces = await SendAsync(new PiecewiseContent(export.ToByteArray(), "application/x-protobuf")))
        {
            Assert.Equal(HttpStatusCode.OK, pieces.StatusCode);
            Assert.Empty(await pieces.Content.ReadAsByteArrayAsync());
        }

        // gpt-4o-mini: 10,000 × $0.15 + 1,000 × $0.60 = 2,100 µ$.
        var totals = await app.WaitForRequestsAsync(user, 1);
        Assert.Equal(2_100, totals["cost"]);

        // One byte past OtlpIngest:MaxRequestBytes (16 MiB), uncompressed: with its length (refused before the body is
        // sent: the client waits for 100-continue), and without (chunked, refused once read past the limit).
        var tooLarge = new byte[16 * 1024 * 1024 + 1];
        using var declaredRequest = new HttpRequestMessage(HttpMethod.Post, "/v1/traces") { Content = Content(tooLarge, "application/x-protobuf") };
        declaredRequest.Headers.Add("X-Api-Key", app.IngestApiKey);
        declaredRequest.Headers.ExpectContinue = true;
        using (var declared = await app.Api.SendAsync(declaredRequest))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, declared.StatusCode);
            Assert.Contains("MaxRequestBytes", await declared.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var chunked = await SendAsync(new PiecewiseContent(tooLarge, "application/x-protobuf")))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, chunked.StatusCode);
            Assert.Contains("MaxRequestBytes", await chunked.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(1, (await app.UserTotalsAsync(user))["requests"]);
    }

    [Fact]
    public async Task The_gRPC_endpoint_refuses_an_export_without_the_key_or_over_the_span_limit()
    {
        var export = new Method<ExportTraceServiceRequest, ExportTraceServiceResponse>(
            MethodType.Unary, "opentelemetry.proto.collector.trace.v1.TraceService", "Export",
            Marshallers.Create(r => r.ToByteArray(), ExportTraceServiceRequest.Parser.ParseFrom),
            Marshallers.Create(r => r.ToByteArray(), ExportTraceServiceResponse.Parser.ParseFrom));
        using var channel = GrpcChannel.ForAddress(app.App.GetEndpoint("apiservice", "otlp"));
        var calls = channel.CreateCallInvoker();
        Task<ExportTraceServiceResponse> Export(ExportTraceServiceRequest request, string? key) =>
            calls.AsyncUnaryCall(export, null, new CallOptions(key is null ? null : new Metadata { { "authorization", $"Bearer {key}" } }), request).ResponseAsync;

        var none = await Assert.ThrowsAsync<RpcException>(() => Export(new ExportTraceServiceRequest(), null));
        Assert.Equal(Grpc.Core.StatusCode.Unauthenticated, none.StatusCode);
        var wrong = await Assert.ThrowsAsync<RpcException>(() => Export(new ExportTraceServiceRequest(), "not-the-key"));
        Assert.Equal(Grpc.Core.StatusCode.Unauthenticated, wrong.StatusCode);

        var empty = await Export(new ExportTraceServiceRequest(), app.IngestApiKey);
        Assert.Null(empty.PartialSuccess);

        var scope = new ScopeSpans();
        scope.Spans.AddRange(Enumerable.Range(0, 10_001).Select(_ => new Span()));
        var many = await Assert.ThrowsAsync<RpcException>(() => Export(new ExportTraceServiceRequest { ResourceSpans = { new ResourceSpans { ScopeSpans = { scope } } } }, app.IngestApiKey));
        Assert.Equal(Grpc.Core.StatusCode.ResourceExhausted, many.StatusCode);
        Assert.Contains("MaxSpansPerRequest", many.Status.Detail, StringComparison.Ordinal);
    }

    private Task<HttpResponseMessage> SendAsync(byte[] body, string type, string? key = null, bool gzip = false) =>
        SendAsync(gzip ? Gzip(body, type) : Content(body, type), key);

    private Task<HttpResponseMessage> SendAsync(HttpContent content, string? key = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/traces") { Content = content };
        request.Headers.Add("X-Api-Key", key ?? app.IngestApiKey);
        return app.Api.SendAsync(request);
    }

    private static ByteArrayContent Content(byte[] body, string type)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(type);
        return content;
    }

    private static ByteArrayContent Gzip(byte[] body, string type)
    {
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(body);
        }

        var content = Content(compressed.ToArray(), type);
        content.Headers.ContentEncoding.Add("gzip");
        return content;
    }

    private static object Attribute(string key, string value) => new { key, value = new { stringValue = value } };

    private static object IntAttribute(string key, long value) => new { key, value = new { intValue = value.ToString(System.Globalization.CultureInfo.InvariantCulture) } };

    private static object JsonSpan(string id, long endNanos, params object[] attributes) => new
    {
        traceId = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()),
        spanId = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.NextInt64())),
        name = $"chat {id}",
        kind = 3,
        startTimeUnixNano = (endNanos - 1_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture),
        endTimeUnixNano = endNanos.ToString(System.Globalization.CultureInfo.InvariantCulture),
        attributes,
    };

    /// <summary>A body of unknown length (sent chunked), written in two flushed halves, so the server reads it in pieces.</summary>
    private sealed class PiecewiseContent : HttpContent
    {
        private readonly byte[] _body;

        public PiecewiseContent(byte[] body, string type)
        {
            _body = body;
            Headers.ContentType = new MediaTypeHeaderValue(type);
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var half = _body.Length / 2;
            await stream.WriteAsync(_body.AsMemory(0, half));
            await stream.FlushAsync();
            await stream.WriteAsync(_body.AsMemory(half));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    /// <summary>Keeps every ended activity, for exporting them a second time.</summary>
    private sealed class Recorder(List<Activity> ended) : BaseProcessor<Activity>
    {
        public override void OnEnd(Activity data)
        {
            lock (ended)
            {
                ended.Add(data);
            }
        }
    }

    /// <summary>A stand-in OpenAI model: a fixed answer with usage, under the model the options ask for.</summary>
    private sealed class ScriptedModel : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "ok"))
            {
                ModelId = options?.ModelId == "gpt-4o-mini" ? "gpt-4o-mini-2024-07-18" : "gpt-4o-2024-08-06",
                Usage = options?.ModelId == "gpt-4o-mini"
                    ? new UsageDetails { InputTokenCount = 1_000_000, OutputTokenCount = 1_000_000 }
                    : new UsageDetails { InputTokenCount = 1_000_000, CachedInputTokenCount = 200_000, OutputTokenCount = 100_000 },
            });

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
            IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) =>
            serviceType == typeof(ChatClientMetadata) ? new ChatClientMetadata("openai", new Uri("https://api.openai.com/v1"), "gpt-4o") : null;

        public void Dispose()
        {
        }
    }
}
