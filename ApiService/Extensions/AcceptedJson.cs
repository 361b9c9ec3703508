using System.Buffers;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.Metadata;

namespace LlmCostTracker.ApiService.Extensions;

/// <summary>A 202 with a small JSON body, serialized before the response starts so that it goes with a Content-Length
/// in the same write as the headers. The framework's <c>Accepted&lt;T&gt;</c> streams its body through the async
/// serializer, which sends it chunked: a chunk header, the body and an end chunk on every ingestion request. The
/// endpoint's OpenAPI response is the same (202, <typeparamref name="T"/>, application/json).</summary>
public sealed class AcceptedJson<T>(T value, JsonTypeInfo<T> type) : IResult, IEndpointMetadataProvider, IStatusCodeHttpResult, IValueHttpResult, IValueHttpResult<T>
{
    public const string ContentType = "application/json; charset=utf-8";

    public T Value => value;

    object? IValueHttpResult.Value => value;

    public int StatusCode => StatusCodes.Status202Accepted;

    int? IStatusCodeHttpResult.StatusCode => StatusCode;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(value, type);
        var response = httpContext.Response;
        response.StatusCode = StatusCode;
        response.ContentType = ContentType;
        response.ContentLength = body.Length;
        // Into Kestrel's buffer: the request's end sends it with the headers.
        response.BodyWriter.Write(body);
        return Task.CompletedTask;
    }

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status202Accepted, typeof(T), ["application/json"]));
}
