using LlmCostTracker.Contracts.Reporting;
using System.Globalization;
using LlmCostTracker.ApiService.Budgets;
using LlmCostTracker.ApiService.Ingestion;
using LlmCostTracker.ApiService.Reporting;
using LlmCostTracker.ApiService.Security;
using LlmCostTracker.Contracts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace LlmCostTracker.ApiService.Apis;

public static class AdminApi
{
    public const int DefaultTop = 100;
    public const int MaxTop = 1_000;
    public const long MaxBudgetBodyBytes = 4 * 1024;

    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/api/v1/admin")
            .WithTags("Admin")
            .RequireAuthorization(ApiKeyDefaults.AdminPolicy)
            .ProducesProblem(StatusCodes.Status401Unauthorized);

        admin.MapGet("/llm-costs", GetCosts)
            .WithName("GetCosts")
            .WithSummary("Costs per user for a month, highest first, with month-end projections")
            .WithDescription("month defaults to the current UTC month; top (1 to 1,000) to 100. Served from the pre-aggregated index: cost grows with top, not with the number of users.");

        admin.MapGet("/llm-costs/{userId}", GetUserCosts)
            .WithName("GetUserCosts")
            .WithSummary("One user's month: totals, models, projection and daily costs")
            .ProducesProblem(StatusCodes.Status404NotFound);

        admin.MapGet("/budgets/{userId}", GetBudget)
            .WithName("GetBudget")
            .WithSummary("A user's monthly budget (the default unless overridden)");

        admin.MapPut("/budgets/{userId}", SetBudget)
            .WithName("SetBudget")
            .WithSummary("Override a user's monthly budget, and whether it is enforced")
            .WithDescription("Raising the budget above the spend re-arms the thresholds now above it; lowering it below the spend fires what it crosses, once. " +
                "enforce (optional; left out: unchanged) refuses budget holds past the budget with 402.")
            .Accepts<SetBudgetRequest>("application/json")
            .WithMetadata(new Microsoft.AspNetCore.Mvc.RequestSizeLimitAttribute(MaxBudgetBodyBytes))
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        admin.MapDelete("/budgets/{userId}", ResetBudget)
            .WithName("ResetBudget")
            .WithSummary("Return a user to the default budget and enforcement")
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        return app;
    }

    public static async Task<Results<Ok<CostReport>, ValidationProblem>> GetCosts(
        string? month, string? top, CostReports reports, TimeProvider clock)
    {
        var errors = new Dictionary<string, string[]>();
        var reportMonth = ParseMonth(month, clock, errors);
        var count = DefaultTop;
        if (top is not null && (!int.TryParse(top, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count is < 1 or > MaxTop))
        {
            errors["top"] = [$"top must be an integer from 1 to {MaxTop:N0}."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        return TypedResults.Ok(await reports.MonthAsync(reportMonth, count));
    }

    public static async Task<Results<Ok<UserCostDetail>, ValidationProblem, ProblemHttpResult>> GetUserCosts(
        string userId, string? month, CostReports reports, TimeProvider clock)
    {
        var errors = new Dictionary<string, string[]>();
        var reportMonth = ParseMonth(month, clock, errors);
        CheckUserId(userId, errors);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        return await reports.UserAsync(userId, reportMonth) is { } detail
            ? TypedResults.Ok(detail)
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No usage",
                detail: $"User '{userId}' has no usage in {reportMonth.Key}.");
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
        if (amount is null || amount < 0 || amount > BudgetStore.MaxBudgetUsd || decimal.Round(amount.Value, 6) != amount)
        {
            errors["monthlyBudgetUsd"] = ["monthlyBudgetUsd must be a number of USD from 0 to 1,000,000,000 with at most 6 decimals (0 turns alerts off)."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        return await BrokerGuard(request.HttpContext, () => budgets.SetAsync(userId, amount!.Value, body.Enforce, ct));
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

    internal static LedgerMonth ParseMonth(string? month, TimeProvider clock, Dictionary<string, string[]> errors)
    {
        if (month is null)
        {
            return LedgerMonth.Of(clock.GetUtcNow());
        }

        if (!LedgerMonth.TryParse(month, out var parsed))
        {
            errors["month"] = ["month must be a month as YYYY-MM (e.g. 2026-11)."];
        }

        return parsed;
    }

    private static void CheckUserId(string userId, Dictionary<string, string[]> errors)
    {
        if (userId.Length is 0 or > UsageValidator.MaxIdLength || !UsageValidator.IsSafeId(userId))
        {
            errors["userId"] = ["userId must be 1 to 128 characters from letters, digits and ._-@+:"];
        }
    }
}
