using LlmCostTracker.ApiService.Ingestion;
using LlmCostTracker.ApiService.Reporting;
using LlmCostTracker.Contracts;
using LlmCostTracker.Contracts.Reporting;
using LlmCostTracker.Ledger.Budgets;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using static LlmCostTracker.ApiService.Apis.AdminParameters;

namespace LlmCostTracker.ApiService.Apis;

/// <summary>A tag value's monthly budget (<c>/api/v1/admin/budgets/by/{dimension}/{value}</c>).</summary>
public static class TagBudgetsApi
{
    public static RouteGroupBuilder MapTagBudgets(this RouteGroupBuilder admin)
    {
        admin.MapGet("/budgets/by/{dimension}/{value}", GetTagBudget)
            .WithName("GetTagBudget")
            .WithSummary("A tag value's monthly budget (monthlyBudgetUsd null: none)")
            .ProducesProblem(StatusCodes.Status404NotFound);

        admin.MapPut("/budgets/by/{dimension}/{value}", SetTagBudget)
            .WithName("SetTagBudget")
            .WithSummary("Set a tag value's monthly budget")
            .WithDescription("Threshold alerts (the budget's own thresholds, else Budgets:Thresholds) fire once per value, month and threshold, on Redis channel alerts:cost:{dimension}={value} and as a TagBudgetThresholdCrossed event. 0 turns them off.")
            .AcceptsJson<SetTagBudgetRequest>(MaxBudgetBodyBytes)
            .ProducesProblem(StatusCodes.Status404NotFound);

        admin.MapDelete("/budgets/by/{dimension}/{value}", DeleteTagBudget)
            .WithName("DeleteTagBudget")
            .WithSummary("Remove a tag value's budget")
            .ProducesProblem(StatusCodes.Status404NotFound);

        return admin;
    }

    public static Task<Results<Ok<TagBudget>, ValidationProblem, ProblemHttpResult>> GetTagBudget(
        string dimension, string value, TagBudgets budgets, IOptions<AttributionOptions> attribution) =>
        OnTagBudgetAsync(dimension, value, attribution.Value, () => budgets.GetAsync(dimension, value));

    public static async Task<Results<Ok<TagBudget>, ValidationProblem, ProblemHttpResult>> SetTagBudget(
        string dimension, string value, HttpRequest request, TagBudgets budgets, IOptions<AttributionOptions> attribution, CancellationToken ct)
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
        CheckThresholds(body.Thresholds, errors);
        return errors.Count > 0 ? TypedResults.ValidationProblem(errors) : TypedResults.Ok(await budgets.SetAsync(dimension, value, amount!.Value, body.Thresholds));
    }

    public static Task<Results<Ok<TagBudget>, ValidationProblem, ProblemHttpResult>> DeleteTagBudget(
        string dimension, string value, TagBudgets budgets, IOptions<AttributionOptions> attribution) =>
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
}
