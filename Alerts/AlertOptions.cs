using System.ComponentModel.DataAnnotations;

namespace LlmCostTracker.Alerts;

/// <summary>Where alerts are delivered besides Redis pub/sub and the bus (<c>Alerts</c> section).</summary>
public sealed class AlertOptions
{
    public const string SectionName = "Alerts";

    public List<WebhookEndpoint> Webhooks { get; set; } = [];

    /// <summary>Attempts per delivery (the first and its retries) before it is dead-lettered.</summary>
    [Range(1, 50)]
    public int DeliveryAttempts { get; set; } = 8;

    /// <summary>The retries' delays grow from this, doubling, up to <see cref="RetryMaxDelay"/>: with the defaults
    /// the attempts span about a minute and a half.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan RetryMinDelay { get; set; } = TimeSpan.FromSeconds(1);

    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long one attempt may take before it counts as failed (and is retried).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan DeliveryTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long the admin API's test send waits for the endpoint: shorter than a delivery's, so the dashboard
    /// (which waits <c>Dashboard:WebhookTestTimeout</c>) shows "no answer" rather than its own timeout.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan TestTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Deliveries in flight at once: a slow endpoint holds at most these, never the ledger.</summary>
    [Range(1, 256)]
    public int ConcurrentDeliveries { get; set; } = 8;

    public IEnumerable<string> Problems()
    {
        for (var i = 0; i < Webhooks.Count; i++)
        {
            var webhook = Webhooks[i];
            if (!Uri.TryCreate(webhook.Url, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            {
                yield return $"Alerts:Webhooks:{i}:Url must be an absolute http or https URL.";
            }

            if (webhook.Format is not (WebhookEndpoint.Json or WebhookEndpoint.Slack))
            {
                yield return $"Alerts:Webhooks:{i}:Format must be {WebhookEndpoint.Json} or {WebhookEndpoint.Slack}.";
            }

            if (webhook.Secret is { Length: > 0 } secret && WebhookSignature.KeyOf(secret) is null)
            {
                yield return $"Alerts:Webhooks:{i}:Secret must be whsec_ followed by base64 (Standard Webhooks).";
            }

            foreach (var type in webhook.Events.Where(t => !AlertTypes.All.Contains(t)))
            {
                yield return $"Alerts:Webhooks:{i}:Events: '{type}' is none of {string.Join(", ", AlertTypes.All)}.";
            }
        }
    }
}

/// <summary>One endpoint alerts are posted to.</summary>
public sealed class WebhookEndpoint
{
    public const string Json = "json";
    public const string Slack = "slack";

    public string Url { get; set; } = "";

    /// <summary><c>whsec_</c> + base64: the key of the <c>webhook-signature</c> HMAC. Empty: deliveries are unsigned
    /// (Slack's incoming webhooks take none).</summary>
    public string? Secret { get; set; }

    /// <summary>The alert types delivered here; empty: all.</summary>
    public string[] Events { get; set; } = [];

    /// <summary><see cref="Json"/> (this service's payload) or <see cref="Slack"/> (an incoming-webhook message).</summary>
    public string Format { get; set; } = Json;

    public bool Wants(string type) => Events.Length == 0 || Events.Contains(type);
}

public static class AlertTypes
{
    public const string BudgetThresholdCrossed = "budget.threshold_crossed";
    public const string TagBudgetThresholdCrossed = "tag_budget.threshold_crossed";

    public const string BudgetForecastExhausted = "budget.forecast_exhausted";

    public static readonly string[] All = [BudgetThresholdCrossed, TagBudgetThresholdCrossed, BudgetForecastExhausted];
}
