using LlmCostTracker.Contracts.Reporting;
using System.Globalization;
using LlmCostTracker.ApiService.Budgets;
using LlmCostTracker.ApiService.Ingestion;
using LlmCostTracker.ApiService.Reporting;
using LlmCostTracker.ApiService.Security;
using LlmCostTracker.Contracts;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

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

        admin.MapGet("/budgets/by/{dimension}/{value}", GetTagBudget)
            .WithName("GetTagBudget")
            .WithSummary("A tag value's monthly budget (monthlyBudgetUsd null: none)")
            .ProducesProblem(StatusCodes.Status404NotFound);

        admin.MapPut("/budgets/by/{dimension}/{value}", SetTagBudget)
            .WithName("SetTagBudget")
            .WithSummary("Set a tag value's monthly budget")
            .WithDescription("Threshold alerts (Budgets:ThresholdsPercent) fire once per value, month and threshold, on Redis channel alerts:cost:{dimension}={value} and as a TagBudgetThresholdCrossed event. 0 turns them off.")
            .Accepts<SetTagBudgetRequest>("application/json")
            .WithMetadata(new Microsoft.AspNetCore.Mvc.RequestSizeLimitAttribute(MaxBudgetBodyBytes))
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);

        admin.MapDelete("/budgets/by/{dimension}/{value}", DeleteTagBudget)
            .WithName("DeleteTagBudget")
            .WithSummary("Remove a tag value's budget")
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

    public static Task<Results<Ok<TagBudget>, ValidationProblem, ProblemHttpResult>> GetTagBudget(
        string dimension, string value, TagBudgetStore budgets, IOptions<AttributionOptions> attribution) =>
        OnTagBudgetAsync(dimension, value, attribution.Value, () => budgets.GetAsync(dimension, value));

    public static async Task<Results<Ok<TagBudget>, ValidationProblem, ProblemHttpResult>> SetTagBudget(
        string dimension, string value, HttpRequest request, TagBudgetStore budgets, IOptions<AttributionOptions> attribution, CancellationToken ct)
    {
        if (UnknownDimension(dimension, attribution.Value) is { } unknown)
        {
            return unknown;
        }

        var errors = new Dictionary<string, string[]>();
        CheckTagValue(value, errors, allowOther: false);
        var (body, problem) = await JsonBody.ReadAsync(request, AdminJsonContext.Default.SetTagBudgetRequest, ct);
        switch (problem)
        {
            case ValidationProblem validation:
                return validation;
            case ProblemHttpResult other:
                return other;
        }

        var amount = body!.MonthlyBudgetUsd;
        CheckAmount(amount, errors);
        return errors.Count > 0 ? TypedResults.ValidationProblem(errors) : TypedResults.Ok(await budgets.SetAsync(dimension, value, amount!.Value));
    }

    public static Task<Results<Ok<TagBudget>, ValidationProblem, ProblemHttpResult>> DeleteTagBudget(
        string dimension, string value, TagBudgetStore budgets, IOptions<AttributionOptions> attribution) =>
        OnTagBudgetAsync(dimension, value, attribution.Value, () => budgets.DeleteAsync(dimension, value));

    /// <summary>A budget read or removal of a configured dimension's value (404 for another dimension, 400 for a bad
    /// value, <c>(other)</c> included: it takes no budget).</summary>
    private static async Task<Results<Ok<TagBudget>, ValidationProblem, ProblemHttpResult>> OnTagBudgetAsync(
        string dimension, string value, AttributionOptions attribution, Func<Task<TagBudget>> action)
    {
        if (UnknownDimension(dimension, attribution) is { } unknown)
        {
            return unknown;
        }

        var errors = new Dictionary<string, string[]>();
        CheckTagValue(value, errors, allowOther: false);
        return errors.Count > 0 ? TypedResults.ValidationProblem(errors) : TypedResults.Ok(await action());
    }

    private static ProblemHttpResult? UnknownDimension(string dimension, AttributionOptions attribution) =>
        Array.IndexOf(attribution.Dimensions, dimension) >= 0
            ? null
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown tag dimension",
                detail: $"'{(TagValidator.IsDimensionName(dimension) ? dimension : "(not a dimension name)")}' is not configured; the dimensions are {string.Join(", ", attribution.Dimensions)} (Attribution:Dimensions).");

    private static void CheckTagValue(string value, Dictionary<string, string[]> errors, bool allowOther)
    {
        if (!TagValidator.IsValue(value) && !(allowOther && value == TagValidator.OtherValue))
        {
            errors["value"] = [$"value must be 1 to {TagValidator.MaxValueLength} characters from letters, digits and ._-@+:"];
        }
    }

    private static int ParseTop(string? top, Dictionary<string, string[]> errors)
    {
        var count = DefaultTop;
        if (top is not null && (!int.TryParse(top, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count is < 1 or > MaxTop))
        {
            errors["top"] = [$"top must be an integer from 1 to {MaxTop:N0}."];
        }

        return count;
    }

    private static void CheckAmount(decimal? amount, Dictionary<string, string[]> errors)
    {
        if (amount is null || amount < 0 || amount > BudgetStore.MaxBudgetUsd || decimal.Round(amount.Value, 6) != amount)
        {
            errors["monthlyBudgetUsd"] = ["monthlyBudgetUsd must be a number of USD from 0 to 1,000,000,000 with at most 6 decimals (0 turns alerts off)."];
        }
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
