using System.Diagnostics;
using LlmCostTracker.ApiService.Extensions;
using LlmCostTracker.ApiService.Ingestion;
using LlmCostTracker.ApiService.Security;
using LlmCostTracker.ApiService.WarmUp;
using LlmCostTracker.Contracts;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace LlmCostTracker.ApiService.Apis;

public static class UsageApi
{
    public const string Route = "/api/v1/llm-usage";
    public const string BatchRoute = Route + "/batch";
    public const long MaxEventBodyBytes = 64 * 1024;
    public const long MaxBatchBodyBytes = 1024 * 1024;
    private const string RetryAfterSeconds = "5";

    public static IEndpointRouteBuilder MapUsageApi(this IEndpointRouteBuilder app)
    {
        // A group with no prefix, the routes whole: a group of Route would make the single event's template
        // "/api/v1/llm-usage/", and the template names the request's span and its http.route (the documented route has
        // no trailing slash; a path with one still matches).
        var api = app.MapGroup("")
            .WithTags("Usage ingestion")
            .RequireAuthorization(ApiKeyDefaults.IngestPolicy);

        api.MapPost(Route, RecordUsage)
            .WithName("RecordUsage")
            .WithSummary("Record one LLM call's token usage")
            .WithDescription("Answers 202 once the broker has confirmed the event. Re-posting the same eventId is safe: it is counted once.")
            .AcceptsJson<UsageEventRequest>(MaxEventBodyBytes)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        api.MapPost(BatchRoute, RecordUsageBatch)
            .WithName("RecordUsageBatch")
            .WithSummary("Record up to 1,000 usage events, all or nothing")
            .AcceptsJson<UsageBatchRequest>(MaxBatchBodyBytes)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        return app;
    }

    public static async Task<Results<AcceptedJson<UsageAccepted>, ValidationProblem, ProblemHttpResult>> RecordUsage(
        HttpRequest request, UsagePublisher publisher, TimeProvider clock, IngestMetrics metrics, IOptions<AttributionOptions> attribution,
        StartupWarmUp warmUp, CancellationToken ct)
    {
        var (body, problem) = await JsonBody.ReadAsync(request, IngestRequestJson.Context.UsageEventBody, ct);
        if (problem is not null)
        {
            metrics.Rejected(1);
            return ToResult<UsageAccepted>(problem);
        }

        var errors = new Dictionary<string, string[]>();
        var usage = UsageValidator.Validate(body!.ToRequest(), clock.GetUtcNow(), NewEventId, prefix: "", errors, attribution.Value.Dimensions, Activity.Current?.Id);
        if (usage is null)
        {
            metrics.Rejected(1);
            return TypedResults.ValidationProblem(errors);
        }

        if (warmUp.IsWarmUp(request))
        {
            return new AcceptedJson<UsageAccepted>(new UsageAccepted(usage.EventId), IngestJsonContext.Default.UsageAccepted);
        }

        if (await PublishAsync(request.HttpContext, publisher, [usage], ct) is { } unavailable)
        {
            return unavailable;
        }

        metrics.Accepted(1);
        return new AcceptedJson<UsageAccepted>(new UsageAccepted(usage.EventId), IngestJsonContext.Default.UsageAccepted);
    }

    public static async Task<Results<AcceptedJson<UsageBatchAccepted>, ValidationProblem, ProblemHttpResult>> RecordUsageBatch(
        HttpRequest request, UsagePublisher publisher, TimeProvider clock, IngestMetrics metrics, IOptions<AttributionOptions> attribution,
        StartupWarmUp warmUp, CancellationToken ct)
    {
        var (body, problem) = await JsonBody.ReadAsync(request, IngestRequestJson.Context.UsageBatchBody, ct);
        if (problem is not null)
        {
            metrics.Rejected(1);
            return ToResult<UsageBatchAccepted>(problem);
        }

        var errors = new Dictionary<string, string[]>();
        if (body!.Events is not { Count: > 0 and <= UsageValidator.MaxBatchSize } requests)
        {
            metrics.Rejected(1);
            errors["events"] = [$"events must hold 1 to {UsageValidator.MaxBatchSize} events."];
            return TypedResults.ValidationProblem(errors);
        }

        var now = clock.GetUtcNow();
        var traceParent = Activity.Current?.Id;
        var events = new List<LlmUsage>(requests.Count);
        for (var i = 0; i < requests.Count; i++)
        {
            var usage = UsageValidator.Validate(requests[i]?.ToRequest(), now, NewEventId, $"events[{i}].", errors, attribution.Value.Dimensions, traceParent);
            if (usage is not null)
            {
                events.Add(usage);
            }
        }

        if (errors.Count > 0)
        {
            metrics.Rejected(requests.Count);
            return TypedResults.ValidationProblem(errors, title: "The batch was rejected: no event in it was recorded.");
        }

        var accepted = new AcceptedJson<UsageBatchAccepted>(new UsageBatchAccepted(events.Count, events.ConvertAll(e => e.EventId)), IngestJsonContext.Default.UsageBatchAccepted);
        if (warmUp.IsWarmUp(request))
        {
            return accepted;
        }

        if (await PublishAsync(request.HttpContext, publisher, events, ct) is { } unavailable)
        {
            return unavailable;
        }

        metrics.Accepted(events.Count);
        return accepted;
    }

    private static async Task<ProblemHttpResult?> PublishAsync(
        HttpContext context, UsagePublisher publisher, IReadOnlyList<LlmUsage> events, CancellationToken ct)
    {
        try
        {
            await publisher.PublishAsync(events, ct);
            return null;
        }
        catch (BrokerUnavailableException ex)
        {
            context.Response.Headers.RetryAfter = RetryAfterSeconds;
            return TypedResults.Problem(
                statusCode: StatusCodes.Status503ServiceUnavailable,
                title: "The message broker is unavailable",
                detail: $"{ex.Message} Not acknowledged: retry with the same eventId (an event counts once, however often it is sent).");
        }
    }

    private static string NewEventId() => Guid.CreateVersion7().ToString("N");

    private static Results<AcceptedJson<T>, ValidationProblem, ProblemHttpResult> ToResult<T>(IResult problem) => problem switch
    {
        ValidationProblem validation => validation,
        ProblemHttpResult other => other,
        _ => throw new UnreachableException(),
    };
}
