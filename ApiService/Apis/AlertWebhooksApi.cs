using System.Diagnostics;
using System.Globalization;
using LlmCostTracker.Alerts;
using LlmCostTracker.Contracts.Reporting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace LlmCostTracker.ApiService.Apis;

/// <summary>The alert webhook endpoints the worker delivers to (<c>Alerts:Webhooks:N</c>), and a test send to one of
/// them (<c>/api/v1/admin/alerts/webhooks</c>).</summary>
public static class AlertWebhooksApi
{
    /// <summary>How much of an endpoint's answer a test shows.</summary>
    public const int ResponseChars = 1_024;

    public static RouteGroupBuilder MapAlertWebhooks(this RouteGroupBuilder admin)
    {
        admin.MapGet("/alerts/webhooks", ListWebhooks)
            .WithName("ListAlertWebhooks")
            .WithSummary("The configured alert webhook endpoints")
            .WithDescription("target shows the scheme, host and port only: a Slack incoming-webhook URL's path is its secret.");

        admin.MapPost("/alerts/webhooks/{endpoint}/test", TestWebhook)
            .WithName("TestAlertWebhook")
            .WithSummary("Send a signed sample alert to one endpoint and show its answer")
            .WithDescription("One attempt, no retry, signed and formatted as real deliveries are, with \"test\": true and a webhook-id of its own. " +
                "type (query, optional): the alert type to imitate, by default the first the endpoint takes. 200 whatever the endpoint answered: delivered says whether it took it.")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);

        return admin;
    }

    public static Ok<AlertWebhookInfo[]> ListWebhooks(IOptions<AlertOptions> options) =>
        TypedResults.Ok(options.Value.Webhooks.Select((webhook, i) => InfoOf(i, webhook)).ToArray());

    public static async Task<Results<Ok<AlertWebhookTestResult>, ValidationProblem, ProblemHttpResult>> TestWebhook(
        string endpoint, string? type, IOptions<AlertOptions> options, IHttpClientFactory http, TimeProvider clock, CancellationToken ct)
    {
        var webhooks = options.Value.Webhooks;
        if (!int.TryParse(endpoint, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["endpoint"] = ["Must be an endpoint's index (0, 1, ...)."] });
        }

        if (index >= webhooks.Count)
        {
            return TypedResults.Problem(
                $"No alert webhook {index}: {webhooks.Count} configured (Alerts:Webhooks:N:Url).", statusCode: StatusCodes.Status404NotFound, title: "Unknown endpoint");
        }

        var webhook = webhooks[index];
        type ??= webhook.Events.FirstOrDefault() ?? AlertTypes.BudgetThresholdCrossed;
        if (!AlertTypes.All.Contains(type))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["type"] = [$"Must be one of {string.Join(", ", AlertTypes.All)}."] });
        }

        // The sample joins this request's trace, as a real delivery joins the trace of the event that crossed.
        var now = clock.GetUtcNow();
        var sample = AlertPayload.Sample(type, now, Activity.Current?.Id);
        var body = webhook.Format == WebhookEndpoint.Slack ? sample.Slack() : sample.ToJson();
        var attempt = await WebhookPoster.PostAsync(
            http.CreateClient(WebhookPoster.HttpClientName), webhook, sample.Id, body, now, options.Value.TestTimeout, ResponseChars, ct);
        return TypedResults.Ok(new AlertWebhookTestResult(
            InfoOf(index, webhook), sample.Id, type, attempt.Outcome == WebhookOutcome.Delivered, Outcome(attempt.Outcome), attempt.StatusCode,
            attempt.ResponseBody, attempt.Error, Math.Round(attempt.Duration.TotalMilliseconds, 1), body));
    }

    private static AlertWebhookInfo InfoOf(int index, WebhookEndpoint webhook)
    {
        var url = new Uri(webhook.Url);
        return new AlertWebhookInfo(index, $"{url.Scheme}://{url.Authority}/…", webhook.Format,
            webhook.Events.Length == 0 ? AlertTypes.All : webhook.Events, webhook.Secret is { Length: > 0 });
    }

    private static string Outcome(WebhookOutcome outcome) => outcome switch
    {
        WebhookOutcome.Delivered => "delivered",
        WebhookOutcome.Retry => "would be retried",
        _ => "refused",
    };
}
