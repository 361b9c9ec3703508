using System.Security.Cryptography;
using System.Text;
using LlmCostTracker.ApiService.Budgets;
using LlmCostTracker.ApiService.Ingestion;
using LlmCostTracker.ApiService.Pricing;
using LlmCostTracker.ApiService.Security;
using LlmCostTracker.History;
using LlmCostTracker.History.Repricing;
using LlmCostTracker.Ledger.Pricing;
using LlmCostTracker.Pricing;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Npgsql;
using StackExchange.Redis;

namespace LlmCostTracker.ApiService.Apis;

/// <summary>The body of <c>POST /api/v1/admin/pricing/reprice</c>: days as <c>YYYY-MM-DD</c> (UTC, inclusive).</summary>
public sealed record RepriceBody(string? From, string? To, string[]? Models, bool? DryRun);

/// <summary>Re-pricing history after a price correction (<c>/api/v1/admin/pricing/reprice</c>), and its audit.</summary>
public static class RepricingApi
{
    public const long MaxRepriceBodyBytes = 16 * 1024;
    public const int MaxModels = 100;
    public const int MaxRunsListed = 100;

    public static IEndpointRouteBuilder MapRepricingApi(this IEndpointRouteBuilder app)
    {
        var reprice = app.MapGroup("/api/v1/admin/pricing/reprice")
            .WithTags("Pricing")
            .RequireAuthorization(ApiKeyDefaults.AdminPolicy)
            .ProducesProblem(StatusCodes.Status401Unauthorized);

        reprice.MapPost("", Reprice)
            .WithName("Reprice")
            .WithSummary("Price the stored token counts of a range of days again with the prices in force on each day (after an override or a catalog update)")
            .WithDescription("from and to are days (YYYY-MM-DD, UTC, inclusive); models (optional) limits it to those model ids; dryRun (default true) only " +
                "reports the difference per model and per user. Applied, it corrects the daily rows in PostgreSQL and the months Redis still holds " +
                "(exactly once), records who did it with which prices (GET .../reprice/runs) and re-evaluates this month's budget thresholds (past alerts " +
                "are not sent again). Each row is priced at the prices in force at the start of its day; a day during which the model's price changes " +
                "is left as it is and listed under skipped. Waits up to History:RepriceCatchUpTimeout for the workers and rollups to catch up, else 503.")
            .AcceptsJson<RepriceBody>(MaxRepriceBodyBytes)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        reprice.MapGet("/runs", Runs)
            .WithName("GetRepriceRuns")
            .WithSummary("The audit of applied re-prices, newest first: when, by which key, with which prices, and what changed")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        return app;
    }

    public static async Task<Results<Ok<RepriceResult>, ValidationProblem, ProblemHttpResult>> Reprice(
        HttpRequest request, IServiceProvider services, PriceAdmin prices, CatalogStore catalogs, BudgetStore budgets,
        IOptions<HistoryOptions> history, IOptions<PricingOptions> pricing, TimeProvider clock, ILogger<RepriceBody> logger, CancellationToken ct)
    {
        var (body, problem) = await JsonBody.ReadAsync(request, PricingJsonContext.Default.RepriceBody, ct);
        switch (problem)
        {
            case ValidationProblem validation:
                return validation;
            case ProblemHttpResult other:
                return other;
        }

        var errors = new Dictionary<string, string[]>();
        var from = AdminParameters.ParseDay(body!.From, "from", errors);
        var to = AdminParameters.ParseDay(body.To, "to", errors);
        var today = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
        if (errors.Count == 0)
        {
            if (to < from)
            {
                errors["to"] = ["to must be on or after from."];
            }
            else if (to > today)
            {
                errors["to"] = [$"to must not be after today ({today:yyyy-MM-dd}, UTC)."];
            }
            else if (from < today.AddDays(-(int)history.Value.Retention.TotalDays))
            {
                errors["from"] = [$"from must be within History:Retention ({history.Value.Retention.TotalDays:0} days): history before it is deleted."];
            }
        }

        if (body.Models is { } models && (models.Length > MaxModels || models.Any(m => string.IsNullOrWhiteSpace(m) || m.Length > 200 || m.Any(char.IsControl))))
        {
            errors["models"] = [$"models must be at most {MaxModels} model ids, each 1 to 200 printable characters (left out: every model)."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        if (services.GetService<Repricer>() is not { } repricer)
        {
            return HistoryOff();
        }

        var versions = new RepriceVersions(await prices.VersionAsync(), await catalogs.CurrentVersionAsync());
        var book = await prices.BookAsync();
        // A worker that has not checked for three refresh intervals is gone (stopped or replaced), not late.
        var liveWithin = pricing.Value.RefreshInterval * 3;
        async Task<bool> PricesEverywhere(CancellationToken token)
        {
            var now = clock.GetUtcNow();
            return (await prices.WorkersAsync()).Where(w => now - w.CheckedAt <= liveWithin).All(w => w.OverridesVersion >= versions.Pricing);
        }

        RepriceResult result;
        IReadOnlyList<string> reevaluate;
        try
        {
            (result, reevaluate) = await repricer.RunAsync(
                new RepriceRequest(from, to, body.Models is { Length: > 0 } m ? [.. m.Distinct(StringComparer.OrdinalIgnoreCase)] : null, body.DryRun ?? true),
                book, versions, Actor(request), PricesEverywhere, ct);
        }
        catch (RepriceNotReadyException ex)
        {
            request.HttpContext.Response.Headers.RetryAfter = "5";
            return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Re-pricing cannot start yet", detail: ex.Message);
        }
        catch (Exception ex) when (ex is NpgsqlException or RedisException)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "History database or Redis unavailable", detail: ex.Message);
        }

        if (result.DryRun)
        {
            return TypedResults.Ok(result);
        }

        // The corrections are in; the worker re-evaluates each changed user's thresholds for this month (a raised
        // spend fires what it now crosses, once; a lowered one re-arms). Past alerts are not sent again.
        var reevaluated = true;
        foreach (var userId in reevaluate)
        {
            try
            {
                await budgets.AnnounceAsync(userId, ct);
            }
            catch (BrokerUnavailableException ex)
            {
                logger.LogWarning(ex, "Re-price {Run}: thresholds of {UserId} not re-evaluated", result.RunId, userId);
                reevaluated = false;
                break;
            }
        }

        return TypedResults.Ok(result with { ThresholdsReevaluated = reevaluated });
    }

    public static async Task<Results<Ok<RepriceRun[]>, ValidationProblem, ProblemHttpResult>> Runs(string? limit, IServiceProvider services, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        var count = 20;
        if (limit is not null && (!int.TryParse(limit, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out count)
            || count is < 1 or > MaxRunsListed))
        {
            errors["limit"] = [$"limit must be an integer from 1 to {MaxRunsListed}."];
            return TypedResults.ValidationProblem(errors);
        }

        if (services.GetService<Repricer>() is not { } repricer)
        {
            return HistoryOff();
        }

        try
        {
            return TypedResults.Ok((await repricer.RunsAsync(count, ct)).ToArray());
        }
        catch (NpgsqlException ex)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "History database unavailable", detail: ex.Message);
        }
    }

    /// <summary>Who asked, for the audit: the scheme and the first 12 hex digits of the key's SHA-256, never the key.</summary>
    private static string Actor(HttpRequest request)
    {
        var key = request.Headers[ApiKeyDefaults.AdminHeader].ToString();
        var fingerprint = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..12];
        return $"{request.HttpContext.User.Identity?.Name ?? ApiKeyDefaults.AdminScheme}:{fingerprint}";
    }

    private static ProblemHttpResult HistoryOff() => TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "History is off",
        detail: "Re-pricing works on the history database, and no 'history' connection string is configured.");
}
