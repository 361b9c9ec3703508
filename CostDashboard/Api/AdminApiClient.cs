using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using LlmCostTracker.Pricing;
using LlmCostTracker.Contracts.Reporting;
using Microsoft.Extensions.Options;

namespace LlmCostTracker.CostDashboard.Api;

/// <summary>What a call to the admin API came to: a value, nothing there (404), refused input (400, the problems by
/// field), or no usable answer (down, timed out, 5xx). Pages show each; none is an exception.</summary>
public abstract record ApiResult<T>
{
    public sealed record Ok(T Value) : ApiResult<T>;

    public sealed record NotFound : ApiResult<T>;

    public sealed record Invalid(IReadOnlyDictionary<string, string[]> Errors) : ApiResult<T>;

    public sealed record Unavailable(string Reason) : ApiResult<T>;
}

/// <summary>The admin API, called server-side with the admin key (which the browser never sees).</summary>
public sealed class AdminApiClient(HttpClient http, IOptions<DashboardOptions> options, ILogger<AdminApiClient> logger)
{
    public const string AdminKeyHeader = "X-Admin-Key";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public Task<ApiResult<CostReport>> MonthAsync(string month, int top, CancellationToken ct) =>
        SendAsync<CostReport>(HttpMethod.Get, $"api/v1/admin/llm-costs?month={month}&top={top.ToString(CultureInfo.InvariantCulture)}", null, ct);

    public Task<ApiResult<UserCostDetail>> UserAsync(string userId, string month, CancellationToken ct) =>
        SendAsync<UserCostDetail>(HttpMethod.Get, $"api/v1/admin/llm-costs/{Uri.EscapeDataString(userId)}?month={month}", null, ct);

    public Task<ApiResult<TagCostReport>> TagsAsync(string dimension, string month, int top, CancellationToken ct) =>
        SendAsync<TagCostReport>(HttpMethod.Get, $"api/v1/admin/llm-costs/by/{Uri.EscapeDataString(dimension)}?month={month}&top={top.ToString(CultureInfo.InvariantCulture)}", null, ct);

    public Task<ApiResult<TagCostDetail>> TagValueAsync(string dimension, string value, string month, int topUsers, CancellationToken ct) =>
        SendAsync<TagCostDetail>(HttpMethod.Get,
            $"api/v1/admin/llm-costs/by/{Uri.EscapeDataString(dimension)}/{Uri.EscapeDataString(value)}?month={month}&top={topUsers.ToString(CultureInfo.InvariantCulture)}", null, ct);

    public Task<ApiResult<UserBudget>> BudgetAsync(string userId, CancellationToken ct) =>
        SendAsync<UserBudget>(HttpMethod.Get, $"api/v1/admin/budgets/{Uri.EscapeDataString(userId)}", null, ct);

    public Task<ApiResult<UserBudget>> SetBudgetAsync(string userId, decimal monthlyBudgetUsd, bool enforce, int[] thresholds, CancellationToken ct) =>
        SendAsync<UserBudget>(HttpMethod.Put, $"api/v1/admin/budgets/{Uri.EscapeDataString(userId)}", new SetBudgetRequest(monthlyBudgetUsd, enforce, thresholds), ct);

    public Task<ApiResult<UserBudget>> ResetBudgetAsync(string userId, CancellationToken ct) =>
        SendAsync<UserBudget>(HttpMethod.Delete, $"api/v1/admin/budgets/{Uri.EscapeDataString(userId)}", null, ct);

    public Task<ApiResult<PricingView>> PricingAsync(CancellationToken ct) =>
        SendAsync<PricingView>(HttpMethod.Get, "api/v1/admin/pricing", null, ct);

    public Task<ApiResult<PriceResolution>> ResolveAsync(string model, CancellationToken ct) =>
        SendAsync<PriceResolution>(HttpMethod.Get, $"api/v1/admin/pricing/resolve?model={Uri.EscapeDataString(model)}", null, ct);

    /// <summary>The model ids priced at the fallback in a month (what the worker could not find in the catalog).</summary>
    public Task<ApiResult<UnknownModelsReport>> FallbackModelsAsync(string month, CancellationToken ct) =>
        SendAsync<UnknownModelsReport>(HttpMethod.Get, $"api/v1/admin/pricing/unknown-models?month={month}", null, ct);

    public Task<ApiResult<AlertWebhookInfo[]>> WebhooksAsync(CancellationToken ct) =>
        SendAsync<AlertWebhookInfo[]>(HttpMethod.Get, "api/v1/admin/alerts/webhooks", null, ct);

    /// <summary>Sends a sample alert to one endpoint; waits longer than other calls, as the API waits for the endpoint.</summary>
    public Task<ApiResult<AlertWebhookTestResult>> TestWebhookAsync(int endpoint, CancellationToken ct) =>
        SendAsync<AlertWebhookTestResult>(HttpMethod.Post, $"api/v1/admin/alerts/webhooks/{endpoint.ToString(CultureInfo.InvariantCulture)}/test", null, ct,
            options.Value.WebhookTestTimeout);

    private async Task<ApiResult<T>> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken ct, TimeSpan? timeout = null)
    {
        // A page waits a bounded time (Dashboard:ApiTimeout), then says the API is down: the service defaults'
        // resilience (retries up to 30 s) would leave it loading.
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bounded.CancelAfter(timeout ?? options.Value.ApiTimeout);
        try
        {
            using var request = new HttpRequestMessage(method, path);
            if (body is not null)
            {
                request.Content = JsonContent.Create(body, options: Json);
            }

            using var response = await http.SendAsync(request, bounded.Token);
            switch (response.StatusCode)
            {
                case HttpStatusCode.OK:
                    return await response.Content.ReadFromJsonAsync<T>(Json, bounded.Token) is { } value
                        ? new ApiResult<T>.Ok(value)
                        : new ApiResult<T>.Unavailable("The API answered with an empty body.");
                case HttpStatusCode.NotFound:
                    return new ApiResult<T>.NotFound();
                case HttpStatusCode.BadRequest:
                    var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Json, bounded.Token);
                    return new ApiResult<T>.Invalid(problem.TryGetProperty("errors", out var errors)
                        ? errors.EnumerateObject().ToDictionary(e => e.Name, e => e.Value.EnumerateArray().Select(m => m.GetString() ?? "").ToArray())
                        : new Dictionary<string, string[]> { [""] = [problem.TryGetProperty("title", out var title) ? title.GetString() ?? "" : "Refused."] });
                default:
                    // The path names a user at most; the key is a header and never logged.
                    logger.LogWarning("Admin API {Method} {Path} answered {Status}", method, path, (int)response.StatusCode);
                    return new ApiResult<T>.Unavailable($"The cost API answered {(int)response.StatusCode}.");
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or TimeoutException or JsonException && !ct.IsCancellationRequested)
        {
            logger.LogWarning("Admin API {Method} {Path} failed: {Error}", method, path, ex.Message);
            return new ApiResult<T>.Unavailable("The cost API is not answering.");
        }
    }
}
