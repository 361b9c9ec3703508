using LlmCostTracker.ApiService.Security;

namespace LlmCostTracker.ApiService.Apis;

/// <summary>The admin API's route group (<c>/api/v1/admin</c>, the admin key): each resource maps its routes in its own
/// file (costs, costs by tag, tag budgets, budgets, alert webhooks; pricing has its own group).</summary>
public static class AdminApi
{
    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/api/v1/admin")
            .WithTags("Admin")
            .RequireAuthorization(ApiKeyDefaults.AdminPolicy)
            .ProducesProblem(StatusCodes.Status401Unauthorized);

        admin.MapCostReports().MapTagReports().MapTagBudgets().MapBudgets().MapAlertWebhooks().MapExports();
        return app;
    }
}
