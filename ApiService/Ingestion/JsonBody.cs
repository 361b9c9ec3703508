using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace LlmCostTracker.ApiService.Ingestion;

/// <summary>Reads a JSON body so that every way it can be wrong ends as a 4xx ProblemDetails, never a 500:
/// 415 for another content type, 413 over the endpoint's size limit, 400 naming the JSON path otherwise.</summary>
public static class JsonBody
{
    /// <summary>An endpoint's JSON body, as OpenAPI and Kestrel see it: its type, its size limit (413 past it), and
    /// the 413 and 415 answers <see cref="ReadAsync"/> gives.</summary>
    public static RouteHandlerBuilder AcceptsJson<T>(this RouteHandlerBuilder endpoint, long maxBytes)
        where T : notnull =>
        endpoint.Accepts<T>("application/json")
            .WithMetadata(new Microsoft.AspNetCore.Mvc.RequestSizeLimitAttribute(maxBytes))
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);

    public static async Task<(T? Value, IResult? Problem)> ReadAsync<T>(HttpRequest request, JsonTypeInfo<T> type, CancellationToken ct)
        where T : class
    {
        if (!request.HasJsonContentType())
        {
            return (null, TypedResults.Problem(
                statusCode: StatusCodes.Status415UnsupportedMediaType,
                title: "Unsupported media type",
                detail: "Send the body as application/json."));
        }

        try
        {
            var value = await JsonSerializer.DeserializeAsync(request.Body, type, ct);
            return value is null
                ? (null, TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["body"] = ["A JSON object is required."] }))
                : (value, null);
        }
        catch (JsonException ex)
        {
            var field = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "body" : ex.Path.TrimStart('$', '.');
            return (null, TypedResults.ValidationProblem(
                new Dictionary<string, string[]> { [field] = [$"Malformed JSON at {ex.Path ?? "$"} (line {ex.LineNumber + 1})."] },
                title: "The request body is not valid JSON for this endpoint."));
        }
        catch (BadHttpRequestException ex)
        {
            // Kestrel's verdict on the body itself: 413 over the endpoint's limit, 400 for a malformed or cut-off body.
            return (null, TypedResults.Problem(
                statusCode: ex.StatusCode,
                title: ex.StatusCode == StatusCodes.Status413PayloadTooLarge ? "Payload too large" : "Bad request body",
                detail: ex.Message));
        }
    }
}
