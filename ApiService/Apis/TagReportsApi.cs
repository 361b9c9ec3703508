using LlmCostTracker.ApiService.Reporting;
using LlmCostTracker.Contracts;
using LlmCostTracker.Contracts.Reporting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using static LlmCostTracker.ApiService.Apis.AdminParameters;

namespace LlmCostTracker.ApiService.Apis;

/// <summary>Costs by tag: a dimension's values and one value's month (<c>/api/v1/admin/llm-costs/by/{dimension}</c>).</summary>
public static class TagReportsApi
{
    public static RouteGroupBuilder MapTagReports(this RouteGroupBuilder admin)
    {
        admin.MapGet("/llm-costs/by/{dimension}", GetCostsByTag)
            .WithName("GetCostsByTag")
            .WithSummary("Costs per value of a tag dimension (e.g. team) for a month, highest first")
            .WithDescription("month defaults to the current UTC month; top (1 to 1,000) to 100. Each value with totals, per-model split, projection and budget use. 404 for a dimension not in Attribution:Dimensions.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        admin.MapGet("/llm-costs/by/{dimension}/{value}", GetTagValueCosts)
            .WithName("GetTagValueCosts")
            .WithSummary("One tag value's month: totals, models, projection, daily costs and top users")
            .WithDescription("top (1 to 1,000, default 100) bounds the users listed. (other) is the value usage past Attribution:MaxValuesPerDimension is counted under.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        return admin;
    }

    public static async Task<Results<Ok<TagCostReport>, ValidationProblem, ProblemHttpResult>> GetCostsByTag(
        string dimension, string? month, string? top, TagReports reports, IOptions<AttributionOptions> attribution, TimeProvider clock)
    {
        if (UnknownDimension(dimension, attribution.Value) is { } unknown)
        {
            return unknown;
        }

        var errors = new Dictionary<string, string[]>();
        var reportMonth = ParseMonth(month, clock, errors);
        var count = ParseTop(top, errors);
        return errors.Count > 0
            ? TypedResults.ValidationProblem(errors)
            : TypedResults.Ok(await reports.DimensionAsync(dimension, reportMonth, count));
    }

    public static async Task<Results<Ok<TagCostDetail>, ValidationProblem, ProblemHttpResult>> GetTagValueCosts(
        string dimension, string value, string? month, string? top, TagReports reports, IOptions<AttributionOptions> attribution, TimeProvider clock)
    {
        if (UnknownDimension(dimension, attribution.Value) is { } unknown)
        {
            return unknown;
        }

        var errors = new Dictionary<string, string[]>();
        var reportMonth = ParseMonth(month, clock, errors);
        var count = ParseTop(top, errors);
        CheckTagValue(value, errors, allowOther: true);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        return await reports.ValueAsync(dimension, value, reportMonth, count) is { } detail
            ? TypedResults.Ok(detail)
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No usage",
                detail: $"{dimension} '{value}' has no usage in {reportMonth.Key}.");
    }
}
