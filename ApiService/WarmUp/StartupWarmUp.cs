using System.Diagnostics;
using System.Net.Http.Headers;
using System.Runtime;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Google.Protobuf;
using LlmCostTracker.ApiService.Apis;
using LlmCostTracker.ApiService.Otlp;
using LlmCostTracker.ApiService.Security;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OtlpProto = LlmCostTracker.ApiService.Otlp.Proto;

namespace LlmCostTracker.ApiService.WarmUp;

/// <summary>Before the API reports ready, it sends its own ingestion endpoints <see cref="WarmUpOptions.Requests"/>
/// requests over loopback (single events, batches, OTLP exports, through Kestrel, authentication, JSON or protobuf
/// and validation), so that their hot code is compiled at its final tier before traffic comes. A new instance
/// otherwise spends its first seconds of traffic compiling that code twice (tiered PGO's instrumented tier, then the
/// final one) on the cores that serve (BENCHMARKS.md, #36). Nothing of a warm-up request is published or counted:
/// each carries a token that only this process knows (<see cref="Header"/>), and the endpoints answer it after
/// validation without publishing. Its requests are not traced. /health reports Degraded (503) until the warm-up
/// ends, and it ends, warm or not, by <see cref="WarmUpOptions.Timeout"/>.</summary>
public sealed class StartupWarmUp(
    IServer server, IHostApplicationLifetime lifetime, IOptionsMonitor<ApiKeyAuthenticationOptions> keys, IOptions<WarmUpOptions> options,
    ILogger<StartupWarmUp> logger) : BackgroundService, IHealthCheck
{
    public const string Header = Microsoft.Extensions.Hosting.Extensions.WarmUpHeader;
    public const string UserId = "llmcost-warm-up";

    private readonly WarmUpOptions _options = options.Value;
    private volatile string? _token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
    private volatile bool _done;

    /// <summary>Whether <paramref name="request"/> is one of this process's warm-up requests: then the endpoint answers
    /// without publishing. After the warm-up, a field read.</summary>
    public bool IsWarmUp(HttpRequest request) =>
        _token is { } token && request.Headers.TryGetValue(Header, out var presented)
        && presented.ToString() is { } text && text.Length == token.Length
        && CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(text.AsSpan()), MemoryMarshal.AsBytes(token.AsSpan()));

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_done ? HealthCheckResult.Healthy() : HealthCheckResult.Degraded("Warming up the ingestion endpoints."));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var time = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var progress = new Progress();
        try
        {
            if (!_options.Enabled || keys.Get(ApiKeyDefaults.IngestScheme).ApiKey is not { Length: > 0 } key)
            {
                return;
            }

            await WhenStartedAsync(stoppingToken);
            progress = new Progress();
            time.CancelAfter(_options.Timeout);
            using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = _options.Concurrency });
            client.DefaultRequestHeaders.Add(ApiKeyDefaults.IngestHeader, key);
            client.DefaultRequestHeaders.Add(Header, _token);
            // The API does not trace a request with the warm-up header (ServiceDefaults), nor does the client (the
            // scope OpenTelemetry's own exporters send under). The scope ends before the summary is logged: it also
            // keeps logs from OpenTelemetry's exporter, and the summary would reach the console but not the dashboard.
            using (OpenTelemetry.SuppressInstrumentationScope.Begin())
            {
                await RunAsync(client, progress, time.Token);
            }

            Log(LogLevel.Information, progress, "");
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            Log(LogLevel.Warning, progress, $"; stopped by WarmUp:Timeout ({_options.Timeout}), ready without the rest");
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            logger.LogWarning(ex, "Warm-up failed; the API is ready without it");
        }
        finally
        {
            _token = null;
            _done = true;
        }
    }

    private void Log(LogLevel level, Progress progress, string end) =>
        logger.Log(level, "Warm-up: {Requests} requests in {Seconds:F1} s, {Methods} methods compiled{End}",
            Math.Min(progress.Sent, _options.Requests), Stopwatch.GetElapsedTime(progress.Started).TotalSeconds,
            JitInfo.GetCompiledMethodCount() - progress.CompiledBefore, end);

    private Task WhenStartedAsync(CancellationToken ct)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        return started.Task.WaitAsync(ct);
    }

    private async Task RunAsync(HttpClient client, Progress progress, CancellationToken ct)
    {
        var target = await AddressAsync(client, ct);
        await Task.WhenAll(Enumerable.Range(0, _options.Concurrency).Select(_ => LaneAsync(client, target, progress, ct)));
    }

    private sealed class Progress
    {
        public long Started { get; } = Stopwatch.GetTimestamp();
        public long CompiledBefore { get; } = JitInfo.GetCompiledMethodCount();
        public int Sent;
    }

    /// <summary>The first of the server's plain-HTTP addresses that takes an event (the OTLP/gRPC one speaks HTTP/2 only).</summary>
    private async Task<Uri> AddressAsync(HttpClient client, CancellationToken ct)
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        foreach (var address in addresses.Where(a => a.StartsWith("http://", StringComparison.OrdinalIgnoreCase)))
        {
            var uri = new UriBuilder(address.Replace("://+:", "://localhost:").Replace("://*:", "://localhost:")) { Path = "/" };
            if (uri.Host is "localhost" or "0.0.0.0" or "[::]" or "::")
            {
                uri.Host = "127.0.0.1";
            }

            try
            {
                await SendAsync(client, new Uri(uri.Uri, Requests.SinglePath), Requests.Single, Requests.Json, ct);
                return uri.Uri;
            }
            catch (HttpRequestException)
            {
                // Not this endpoint: try the next.
            }
        }

        throw new InvalidOperationException($"No plain-HTTP address of the API took a warm-up event ({string.Join(", ", addresses)}).");
    }

    private async Task LaneAsync(HttpClient client, Uri target, Progress progress, CancellationToken ct)
    {
        int i;
        while ((i = Interlocked.Increment(ref progress.Sent)) <= _options.Requests)
        {
            var (path, body, type) = (i % 10) switch
            {
                0 => (OtlpHttpApi.Route, Requests.Export, Requests.Protobuf),
                5 => (Requests.BatchPath, Requests.Batch, Requests.Json),
                _ => (Requests.SinglePath, Requests.Single, Requests.Json),
            };
            await SendAsync(client, new Uri(target, path), body, type, ct);
        }
    }

    private static async Task SendAsync(HttpClient client, Uri path, byte[] body, MediaTypeHeaderValue type, CancellationToken ct)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = type;
        using var response = await client.PostAsync(path, content, ct);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"A warm-up request to {path} was answered {(int)response.StatusCode}.");
        }
    }

    /// <summary>The bodies, made once: the API makes each event's id (JSON) or reads it from the span's ids (OTLP).</summary>
    private static class Requests
    {
        public const string SinglePath = UsageApi.Route;
        public const string BatchPath = UsageApi.BatchRoute;
        public static readonly MediaTypeHeaderValue Json = new("application/json");
        public static readonly MediaTypeHeaderValue Protobuf = new(OtlpHttpApi.ProtobufType);

        private const string Event = $$"""{"userId":"{{UserId}}","model":"gpt-4o","inputTokens":1200,"outputTokens":300}""";
        public static readonly byte[] Single = System.Text.Encoding.UTF8.GetBytes(Event);
        public static readonly byte[] Batch = System.Text.Encoding.UTF8.GetBytes($"{{\"events\":[{string.Join(',', Enumerable.Repeat(Event, 10))}]}}");
        public static readonly byte[] Export = OtlpExport().ToByteArray();

        private static OtlpProto.ExportTraceServiceRequest OtlpExport()
        {
            var span = new OtlpProto.Span
            {
                TraceId = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(16)),
                SpanId = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(8)),
                Name = "chat gpt-4o",
                EndTimeUnixNano = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000,
            };
            span.Attributes.Add(Text("gen_ai.request.model", "gpt-4o"));
            span.Attributes.Add(Text("user.id", UserId));
            span.Attributes.Add(new OtlpProto.KeyValue { Key = "gen_ai.usage.input_tokens", Value = new() { IntValue = 1200 } });
            span.Attributes.Add(new OtlpProto.KeyValue { Key = "gen_ai.usage.output_tokens", Value = new() { IntValue = 300 } });
            var scope = new OtlpProto.ScopeSpans();
            scope.Spans.Add(span);
            var resource = new OtlpProto.ResourceSpans();
            resource.ScopeSpans.Add(scope);
            var export = new OtlpProto.ExportTraceServiceRequest();
            export.ResourceSpans.Add(resource);
            return export;
        }

        private static OtlpProto.KeyValue Text(string key, string value) => new() { Key = key, Value = new() { StringValue = value } };
    }
}
