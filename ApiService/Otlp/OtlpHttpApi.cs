using System.Buffers;
using System.IO.Compression;
using System.IO.Pipelines;
using Google.Protobuf;
using LlmCostTracker.ApiService.Ingestion;
using LlmCostTracker.ApiService.Otlp.Proto;
using LlmCostTracker.ApiService.Security;
using LlmCostTracker.ApiService.WarmUp;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;

namespace LlmCostTracker.ApiService.Otlp;

/// <summary>OTLP/HTTP trace export (<c>POST /v1/traces</c>): binary protobuf or OTLP's JSON, optionally gzip, with
/// the ingest key. Answers in the request's encoding; refusals are ProblemDetails (an exporter logs the body).</summary>
public static class OtlpHttpApi
{
    public const string Route = "/v1/traces";
    public const string ProtobufType = "application/x-protobuf";
    public const string JsonType = "application/json";
    private const string RetryAfterSeconds = "5";
    private static readonly JsonParser Json = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    public static IEndpointRouteBuilder MapOtlpHttpApi(this IEndpointRouteBuilder app)
    {
        app.MapPost(Route, ExportAsync)
            .WithTags("OTLP ingestion")
            .WithName("ExportTraces")
            .WithSummary("Record the GenAI usage in an OTLP trace export")
            .WithDescription("OTLP/HTTP: ExportTraceServiceRequest as application/x-protobuf or application/json, optionally Content-Encoding: gzip. "
                + "One usage event per span with gen_ai.usage.* attributes, its id made of the trace and span ids (a re-sent export counts once). "
                + "Spans without usage are skipped; invalid usage spans are counted in partial_success.rejected_spans, nothing of them recorded.")
            // The body's types for OpenAPI only: routing by content type (Accepts) would answer another type with a
            // bare 415 before the handler could say which types it takes.
            .AddOpenApiOperationTransformer((operation, _, _) =>
            {
                operation.RequestBody = new OpenApiRequestBody
                {
                    Required = true,
                    Description = "An OTLP ExportTraceServiceRequest.",
                    Content = new Dictionary<string, OpenApiMediaType> { [ProtobufType] = new(), [JsonType] = new() },
                };
                return Task.CompletedTask;
            })
            .Produces(StatusCodes.Status200OK, contentType: ProtobufType)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .RequireAuthorization(ApiKeyDefaults.IngestPolicy);
        return app;
    }

    private static async Task<IResult> ExportAsync(
        HttpContext context, OtlpTraceIngest ingest, IOptions<OtlpIngestOptions> options, StartupWarmUp warmUp, CancellationToken ct)
    {
        var request = context.Request;
        var json = request.ContentType is { } type && type.StartsWith(JsonType, StringComparison.OrdinalIgnoreCase);
        if (!json && !(request.ContentType?.StartsWith(ProtobufType, StringComparison.OrdinalIgnoreCase) ?? false))
        {
            return Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type", $"Content-Type must be {ProtobufType} or {JsonType} (OTLP/HTTP).");
        }

        var encoding = request.Headers.ContentEncoding.ToString();
        if (encoding.Length > 0 && !encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase) && !encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            return Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported content encoding", "Content-Encoding must be gzip or none.");
        }

        var gzip = encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase);
        var max = options.Value.MaxRequestBytes;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = max;
        }

        if (request.ContentLength > max)
        {
            return TooLarge(max);
        }

        ExportTraceServiceRequest? export;
        try
        {
            // Binary protobuf as sent (the SDKs' default) is parsed from Kestrel's own buffers; JSON and gzip are read
            // into one buffer first.
            if (!json && !gzip)
            {
                export = await ParseProtobufAsync(request.BodyReader, max, ct);
                if (export is null)
                {
                    return TooLarge(max);
                }
            }
            else
            {
                MemoryStream body;
                try
                {
                    await using var stream = gzip ? new GZipStream(request.Body, CompressionMode.Decompress) : request.Body;
                    body = await ReadAsync(stream, (int)Math.Min(request.ContentLength ?? 16 * 1024, max), max, ct);
                }
                catch (InvalidDataException)
                {
                    return Problem(StatusCodes.Status400BadRequest, "The body is not valid gzip", "Content-Encoding says gzip; the body could not be decompressed.");
                }

                if (body.Length > max)
                {
                    return TooLarge(max);
                }

                export = json ? ParseJson(body) : ExportTraceServiceRequest.Parser.ParseFrom(body.GetBuffer(), 0, (int)body.Length);
            }
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLarge(max);
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or InvalidJsonException or FormatException)
        {
            return Problem(StatusCodes.Status400BadRequest, "The body is not an OTLP trace export",
                $"Expected an ExportTraceServiceRequest as {(json ? "OTLP JSON" : "protobuf")}: {ex.Message}");
        }

        if (ingest.TooManySpans(export))
        {
            return Problem(StatusCodes.Status413PayloadTooLarge, "Too many spans", ingest.TooManySpansMessage);
        }

        ExportTraceServiceResponse response;
        try
        {
            response = await ingest.ExportAsync(export, ct, publish: !warmUp.IsWarmUp(request));
        }
        catch (BrokerUnavailableException ex)
        {
            // OTLP exporters retry a 503 after Retry-After; each span still counts once (its event id).
            context.Response.Headers.RetryAfter = RetryAfterSeconds;
            return Problem(StatusCodes.Status503ServiceUnavailable, "The message broker is unavailable", $"{ex.Message} Nothing of this export was acknowledged: export it again.");
        }

        return json ? Results.Text(JsonFormatter.Default.Format(response), JsonType) : new ProtobufResult(response);
    }

    /// <summary>The whole body once Kestrel has it, parsed in place; null past <paramref name="max"/> bytes.</summary>
    private static async Task<ExportTraceServiceRequest?> ParseProtobufAsync(PipeReader body, int max, CancellationToken ct)
    {
        while (true)
        {
            var read = await body.ReadAsync(ct);
            var buffer = read.Buffer;
            if (buffer.Length > max)
            {
                body.AdvanceTo(buffer.End);
                return null;
            }

            if (read.IsCompleted)
            {
                try
                {
                    return ExportTraceServiceRequest.Parser.ParseFrom(buffer);
                }
                finally
                {
                    body.AdvanceTo(buffer.End);
                }
            }

            body.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Reads the whole body, stopping one buffer past <paramref name="max"/> (a body that large is refused).</summary>
    private static async Task<MemoryStream> ReadAsync(Stream stream, int expected, int max, CancellationToken ct)
    {
        var body = new MemoryStream(expected);
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while (body.Length <= max && (read = await stream.ReadAsync(buffer, ct)) > 0)
            {
                body.Write(buffer, 0, read);
            }

            body.Position = 0;
            return body;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>OTLP's JSON is proto3's JSON mapping but for the trace and span ids, which it writes as hex, not base64.
    /// The parser reads them as base64 (hex digits are base64 characters, and 32 or 16 of them decode without
    /// padding); encoding those bytes back gives the hex text, from which the real ids are read.</summary>
    private static ExportTraceServiceRequest ParseJson(MemoryStream body)
    {
        using var reader = new StreamReader(body);
        var export = Json.Parse<ExportTraceServiceRequest>(reader);
        foreach (var resource in export.ResourceSpans)
        {
            foreach (var scope in resource.ScopeSpans)
            {
                foreach (var span in scope.Spans)
                {
                    span.TraceId = FromHexText(span.TraceId);
                    span.SpanId = FromHexText(span.SpanId);
                }
            }
        }

        return export;
    }

    private static ByteString FromHexText(ByteString parsedAsBase64) =>
        parsedAsBase64.IsEmpty ? parsedAsBase64 : ByteString.CopyFrom(Convert.FromHexString(Convert.ToBase64String(parsedAsBase64.Span)));

    /// <summary>A protobuf answer written straight to the response: most are empty (full success), and the framework's
    /// byte-array result does a file download's work (ranges, validators) for each.</summary>
    private sealed class ProtobufResult(IMessage message) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            var size = message.CalculateSize();
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = ProtobufType;
            response.ContentLength = size;
            if (size == 0)
            {
                return Task.CompletedTask;
            }

            message.WriteTo(response.BodyWriter);
            return response.BodyWriter.FlushAsync(httpContext.RequestAborted).AsTask();
        }
    }

    private static IResult TooLarge(int max) =>
        Problem(StatusCodes.Status413PayloadTooLarge, "The export is too large", $"An export may be at most {max} bytes after decompression (OtlpIngest:MaxRequestBytes).");

    private static IResult Problem(int status, string title, string detail) =>
        TypedResults.Problem(statusCode: status, title: title, detail: detail);
}
