using LlmCostTracker.Ledger.Holds;
using LlmCostTracker.ApiService.Extensions;
using LlmCostTracker.ApiService.Ingestion;
using LlmCostTracker.ApiService.Security;
using LlmCostTracker.Contracts;
using Microsoft.AspNetCore.Http.HttpResults;
using StackExchange.Redis;

namespace LlmCostTracker.ApiService.Apis;

public static class BudgetHoldsApi
{
    public const long MaxHoldBodyBytes = 8 * 1024;

    /// <summary>The ProblemDetails type of a refused hold: a client tells it from other 4xx by this, and must not
    /// retry it (it is not a 429: client SDKs retry those).</summary>
    public const string BudgetExceededType = "budget-exceeded";

    private const string RetryAfterSeconds = "1";

    public static IEndpointRouteBuilder MapBudgetHoldsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/budget-holds")
            .WithTags("Budget holds")
            .RequireAuthorization(ApiKeyDefaults.IngestPolicy)
            .ProducesProblem(StatusCodes.Status401Unauthorized);

        api.MapPost("/", CreateHold)
            .WithName("CreateBudgetHold")
            .WithSummary("Reserve an LLM call's worst-case cost before making it")
            .WithDescription("Granted (201) only while spent + held + this ≤ the user's budget, for a user whose budget is enforced; " +
                "always granted (and tracked) otherwise. 402 (type budget-exceeded) when it does not fit: do not make the call. " +
                "Report the call's usage with the holdId to settle it, or DELETE it if the call failed; it expires after ttlSeconds. " +
                "Re-posting a holdId answers the hold as it stands (200).")
            .AcceptsJson<BudgetHoldRequest>(MaxHoldBodyBytes)
            .ProducesProblem(StatusCodes.Status402PaymentRequired)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        api.MapDelete("/{holdId}", ReleaseHold)
            .WithName("ReleaseBudgetHold")
            .WithSummary("Release a hold whose call failed")
            .WithDescription("204 when released (or already released); 409 when its usage was already counted; 404 when unknown or expired.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        return app;
    }

    public static async Task<Results<CreatedJson<BudgetHold>, OkJson<BudgetHold>, ValidationProblem, ProblemHttpResult>> CreateHold(
        HttpRequest request, BudgetHolds holds, IngestMetrics metrics, CancellationToken ct)
    {
        var (body, problem) = await JsonBody.ReadAsync(request, IngestJsonContext.Default.BudgetHoldRequest, ct);
        if (problem is not null)
        {
            metrics.Hold(IngestMetrics.HoldInvalid);
            return problem switch
            {
                ValidationProblem validation => validation,
                ProblemHttpResult other => other,
                _ => throw new System.Diagnostics.UnreachableException(),
            };
        }

        var errors = new Dictionary<string, string[]>();
        var hold = BudgetHoldValidator.Validate(body, NewHoldId, errors);
        if (hold is null)
        {
            metrics.Hold(IngestMetrics.HoldInvalid);
            return TypedResults.ValidationProblem(errors);
        }

        HoldOutcome outcome;
        try
        {
            outcome = await holds.HoldAsync(hold);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            metrics.Hold(IngestMetrics.HoldUnavailable);
            return Unavailable(request.HttpContext, "Nothing was held; retry with the same holdId.");
        }

        switch (outcome)
        {
            case HoldOutcome.Held { IsNew: true } held:
                metrics.Hold(BudgetHoldCall.Granted);
                return new CreatedJson<BudgetHold>($"/api/v1/budget-holds/{held.Hold.HoldId}", held.Hold, IngestJsonContext.Default.BudgetHold);
            case HoldOutcome.Held held:
                metrics.Hold(BudgetHoldCall.Existing);
                return new OkJson<BudgetHold>(held.Hold, IngestJsonContext.Default.BudgetHold);
            case HoldOutcome.Refused refused:
                metrics.Hold(BudgetHoldCall.Refused);
                return TypedResults.Problem(
                    statusCode: StatusCodes.Status402PaymentRequired,
                    type: BudgetExceededType,
                    title: "Budget exceeded",
                    detail: $"A hold of {refused.RequestedUsd} USD does not fit: {refused.RemainingUsd} USD of the user's {refused.BudgetUsd} USD budget is left this month. Do not make the call.",
                    extensions: new Dictionary<string, object?>
                    {
                        ["userId"] = refused.UserId,
                        ["requestedUsd"] = refused.RequestedUsd,
                        ["remainingUsd"] = refused.RemainingUsd,
                        ["budgetUsd"] = refused.BudgetUsd,
                    });
            case HoldOutcome.Conflict conflict:
                metrics.Hold(IngestMetrics.HoldConflict);
                return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "holdId in use",
                    detail: $"The holdId '{conflict.HoldId}' is held for another user; use a fresh one.");
            default:
                throw new System.Diagnostics.UnreachableException();
        }
    }

    public static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> ReleaseHold(string holdId, HttpContext context, BudgetHolds holds)
    {
        var errors = new Dictionary<string, string[]>();
        if (!BudgetHoldValidator.IsHoldId(holdId, errors))
        {
            return TypedResults.ValidationProblem(errors);
        }

        string outcome;
        try
        {
            outcome = await holds.ReleaseAsync(holdId);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return Unavailable(context, "Nothing was released; retry.");
        }

        return outcome switch
        {
            BudgetHoldCall.Released => TypedResults.NoContent(),
            BudgetHoldCall.Settled => TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Hold already settled",
                detail: $"The usage of hold '{holdId}' was already counted; there is nothing to release."),
            _ => TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such hold",
                detail: $"No hold '{holdId}' is active: it was never granted, or it expired (and was released then)."),
        };
    }

    private static ProblemHttpResult Unavailable(HttpContext context, string detail)
    {
        context.Response.Headers.RetryAfter = RetryAfterSeconds;
        return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "The ledger is unavailable", detail: detail);
    }

    private static string NewHoldId() => Guid.CreateVersion7().ToString("N");
}
