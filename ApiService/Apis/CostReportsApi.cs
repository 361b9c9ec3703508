using LlmCostTracker.ApiService.Reporting;
using LlmCostTracker.Contracts.Reporting;
using Microsoft.AspNetCore.Http.HttpResults;
using static LlmCostTracker.ApiService.Apis.AdminParameters;

namespace LlmCostTracker.ApiService.Apis;

/// <summary>Costs per user: the month's ranking and one user's month (<c>/api/v1/admin/llm-costs</c>).</summary>
public static class CostReportsApi
{
    public static RouteGroupBuilder MapCostReports(this RouteGroupBuilder admin)
    {
        admin.MapGet("/llm-costs", GetCosts)
            .WithName("GetCosts")
            .WithSummary("Costs per user for a month, highest first, with month-end projections")
            .WithDescription("month defaults to the current UTC month; top (1 to 1,000) to 100. Served from the pre-aggregated index: cost grows with top, not with the number of users.");

        admin.MapGet("/llm-costs/{userId}", GetUserCosts)
            .WithName("GetUserCosts")
            .WithSummary("One user's month: totals, models, projection and daily costs")
            .ProducesProblem(StatusCodes.Status404NotFound);

        return admin;
    }

    public static async Task<Results<Ok<CostReport>, ValidationProblem>> GetCosts(
        string? month, string? top, CostReports reports, TimeProvider clock)
    {
        var errors = new Dictionary<string, string[]>();
        var reportMonth = ParseMonth(month, clock, errors);
        var count = ParseTop(top, errors);
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
}
