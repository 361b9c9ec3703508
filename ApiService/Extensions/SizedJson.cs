using System.Buffers;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.Metadata;

namespace LlmCostTracker.ApiService.Extensions;

/// <summary>An answer with a small JSON body, serialized before the response starts so that it goes with a
/// Content-Length in the same write as the headers. The framework's <c>Accepted&lt;T&gt;</c>, <c>Created&lt;T&gt;</c>
/// and <c>Ok&lt;T&gt;</c> stream their body through the async serializer, which sends it chunked: a chunk header, the
/// body and an end chunk, on every ingestion request and budget hold. The subclasses give the endpoint the same
/// OpenAPI response as the framework's (their status, <typeparamref name="T"/>, application/json).</summary>
public abstract class SizedJson<T>(T value, JsonTypeInfo<T> type, int statusCode) : IResult, IStatusCodeHttpResult, IValueHttpResult, IValueHttpResult<T>
{
    public const string ContentType = "application/json; charset=utf-8";

    public T Value => value;

    object? IValueHttpResult.Value => value;

    public int StatusCode => statusCode;

    int? IStatusCodeHttpResult.StatusCode => statusCode;

    public virtual Task ExecuteAsync(HttpContext httpContext)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(value, type);
        var response = httpContext.Response;
        response.StatusCode = statusCode;
        response.ContentType = ContentType;
        response.ContentLength = body.Length;
        // Into Kestrel's buffer: the request's end sends it with the headers.
        response.BodyWriter.Write(body);
        return Task.CompletedTask;
    }

    protected static void Produces(EndpointBuilder builder, int statusCode) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(statusCode, typeof(T), ["application/json"]));
}

/// <summary>202 with a JSON body (<see cref="SizedJson{T}"/>).</summary>
public sealed class AcceptedJson<T>(T value, JsonTypeInfo<T> type)
    : SizedJson<T>(value, type, StatusCodes.Status202Accepted), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Produces(builder, StatusCodes.Status202Accepted);
}

/// <summary>201 with a Location and a JSON body (<see cref="SizedJson{T}"/>).</summary>
public sealed class CreatedJson<T>(string location, T value, JsonTypeInfo<T> type)
    : SizedJson<T>(value, type, StatusCodes.Status201Created), IEndpointMetadataProvider
{
    public string Location => location;

    public override Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.Headers.Location = location;
        return base.ExecuteAsync(httpContext);
    }

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Produces(builder, StatusCodes.Status201Created);
}

/// <summary>200 with a JSON body (<see cref="SizedJson{T}"/>).</summary>
public sealed class OkJson<T>(T value, JsonTypeInfo<T> type)
    : SizedJson<T>(value, type, StatusCodes.Status200OK), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Produces(builder, StatusCodes.Status200OK);
}
