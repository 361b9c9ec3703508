using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;

namespace LlmCostTracker.Alerts;

/// <summary>What one attempt came to. <see cref="Retry"/>: a 5xx, a 429, a timeout or no connection (worth
/// repeating); <see cref="Refused"/>: any other answer (repeating will not change it).</summary>
public enum WebhookOutcome
{
    Delivered,
    Retry,
    Refused,
}

/// <param name="StatusCode">The endpoint's HTTP status; null when it did not answer.</param>
/// <param name="ResponseBody">The start of the endpoint's answer, when asked for.</param>
/// <param name="Error">Why there is no answer (timeout, connection refused, ...).</param>
public sealed record WebhookAttempt(WebhookOutcome Outcome, int? StatusCode, string? ResponseBody, string? Error, TimeSpan Duration);

/// <summary>One signed POST to one endpoint, as Standard Webhooks specify (<c>webhook-id</c>,
/// <c>webhook-timestamp</c>, <c>webhook-signature</c>). The worker's deliveries and the admin API's test send the
/// same way; retrying is the caller's.</summary>
public static class WebhookPoster
{
    /// <summary>The named HttpClient both services post with: no resilience handler, since retrying is the caller's
    /// (the worker's bus with its dead-letter queue; a test sends once).</summary>
    public const string HttpClientName = "alert-webhooks";

    public static async Task<WebhookAttempt> PostAsync(
        HttpClient client, WebhookEndpoint webhook, string webhookId, string body, DateTimeOffset now, TimeSpan timeout,
        int responseChars, CancellationToken cancellationToken)
    {
        var timestamp = now.ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, webhook.Url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("webhook-id", webhookId);
        request.Headers.Add("webhook-timestamp", timestamp.ToString(CultureInfo.InvariantCulture));
        if (webhook.Secret is { Length: > 0 } secret && WebhookSignature.KeyOf(secret) is { } key)
        {
            request.Headers.Add("webhook-signature", WebhookSignature.Sign(key, webhookId, timestamp, body));
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            var status = (int)response.StatusCode;
            var answer = responseChars > 0 ? await ReadStartAsync(response, responseChars, deadline.Token) : null;
            var outcome = response.IsSuccessStatusCode ? WebhookOutcome.Delivered
                : status >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests ? WebhookOutcome.Retry
                : WebhookOutcome.Refused;
            return new WebhookAttempt(outcome, status, answer, null, Stopwatch.GetElapsedTime(started));
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            var error = ex is OperationCanceledException ? $"no answer within {timeout.TotalSeconds:0.###} s" : ex.Message;
            return new WebhookAttempt(WebhookOutcome.Retry, null, null, error, Stopwatch.GetElapsedTime(started));
        }
    }

    private static async Task<string> ReadStartAsync(HttpResponseMessage response, int chars, CancellationToken ct)
    {
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct), Encoding.UTF8);
        var buffer = new char[chars];
        var read = await reader.ReadBlockAsync(buffer.AsMemory(), ct);
        return new string(buffer, 0, read);
    }
}
