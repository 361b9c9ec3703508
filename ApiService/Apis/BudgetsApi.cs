using LlmCostTracker.ApiService.Budgets;
using LlmCostTracker.ApiService.Ingestion;
using LlmCostTracker.ApiService.Reporting;
using LlmCostTracker.Contracts.Reporting;
using Microsoft.AspNetCore.Http.HttpResults;
using static LlmCostTracker.ApiService.Apis.AdminParameters;

namespace LlmCostTracker.ApiService.Apis;

/// <summary>A user's monthly budget and its enforcement (<c>/api/v1/admin/budgets/{userId}</c>).</summary>
public static class BudgetsApi
{
    public static RouteGroupBuilder MapBudgets(this RouteGroupBuilder admin)
    {
        admin.MapGet("/budgets/{userId}", GetBudget)
            .WithName("GetBudget")
            .WithSummary("A user's monthly budget (the default unless overridden)");

        admin.MapPut("/budgets/{userId}", SetBudget)
            .WithName("SetBudget")
            .WithSummary("Override a user's monthly budget, and whether it is enforced")
            .WithDescription("Raising the budget above the spend re-arms the thresholds now above it; lowering it below the spend fires what it crosses, once. " +
                "enforce (optional; left out: unchanged) refuses budget holds past the budget with 402. " +
                "thresholds (optional; left out: unchanged; [] none): the budget's own alert percentages, up to 10 from 1 to 1000, replacing Budgets:Thresholds for this user.")
            .AcceptsJson<SetBudgetRequest>(MaxBudgetBodyBytes)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        admin.MapDelete("/budgets/{userId}", ResetBudget)
            .WithName("ResetBudget")
            .WithSummary("Return a user to the default budget and enforcement")
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        return admin;
    }

    public static async Task<Results<Ok<UserBudget>, ValidationProblem>> GetBudget(string userId, BudgetStore budgets)
    {
        var errors = new Dictionary<string, string[]>();
        CheckUserId(userId, errors);
        return errors.Count > 0 ? TypedResults.ValidationProblem(errors) : TypedResults.Ok(await budgets.GetAsync(userId));
    }

    public static async Task<Results<Ok<UserBudget>, ValidationProblem, ProblemHttpResult>> SetBudget(
        string userId, HttpRequest request, BudgetStore budgets, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        CheckUserId(userId, errors);
        var (body, problem) = await JsonBody.ReadAsync(request, AdminJsonContext.Default.SetBudgetRequest, ct);
        switch (problem)
        {
            case ValidationProblem validation:
                return validation;
            case ProblemHttpResult other:
                return other;
        }

        var amount = body!.MonthlyBudgetUsd;
        CheckAmount(amount, errors);
        CheckThresholds(body.Thresholds, errors);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        return await BrokerGuard(request.HttpContext, () => budgets.SetAsync(userId, amount!.Value, body.Enforce, body.Thresholds, ct));
    }

    public static async Task<Results<Ok<UserBudget>, ValidationProblem, ProblemHttpResult>> ResetBudget(
        string userId, HttpContext context, BudgetStore budgets, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        CheckUserId(userId, errors);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        return await BrokerGuard(context, () => budgets.ResetAsync(userId, ct));
    }

    private static async Task<Results<Ok<UserBudget>, ValidationProblem, ProblemHttpResult>> BrokerGuard(
        HttpContext context, Func<Task<UserBudget>> change)
    {
        try
        {
            return TypedResults.Ok(await change());
        }
        catch (BrokerUnavailableException ex)
        {
            context.Response.Headers.RetryAfter = "5";
            return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "The message broker is unavailable", detail: ex.Message);
        }
    }
}
