namespace LlmCostTracker.Contracts.Reporting;

/// <summary>A configured alert webhook endpoint, as the admin API lists it.</summary>
/// <param name="Target">Scheme, host and port: the path may be a secret (Slack's is).</param>
/// <param name="Events">The alert types delivered there.</param>
/// <param name="Signed">Whether deliveries carry <c>webhook-signature</c> (a secret is set).</param>
public sealed record AlertWebhookInfo(int Endpoint, string Target, string Format, string[] Events, bool Signed);

/// <param name="Delivered">The endpoint answered 2xx.</param>
/// <param name="Outcome"><c>delivered</c>, <c>would be retried</c> (5xx, 429, no answer) or <c>refused</c> (another answer: a real delivery would be dead-lettered).</param>
/// <param name="StatusCode">The endpoint's status; null when it did not answer.</param>
/// <param name="ResponseBody">The first 1,024 characters of its answer.</param>
/// <param name="Error">Why there was no answer.</param>
/// <param name="Body">What was sent.</param>
public sealed record AlertWebhookTestResult(
    AlertWebhookInfo Webhook, string WebhookId, string Type, bool Delivered, string Outcome, int? StatusCode, string? ResponseBody, string? Error,
    double DurationMs, string Body);
