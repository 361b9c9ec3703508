using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using LlmCostTracker.Contracts;
using MassTransit;
using Microsoft.Extensions.Options;

namespace LlmCostTracker.WorkerService.Alerts;

/// <summary>Posts one alert to one endpoint, signed as Standard Webhooks specify. A 2xx delivers it; a 5xx, a 429, a
/// timeout or a connection failure is retried with growing delays (<see cref="AlertOptions.DeliveryAttempts"/>);
/// then, or at once for any other answer, the message goes to <c>llm-alert-webhooks_error</c>, where the AppHost's
/// "Replay failed alert webhooks" command finds it. Off the ledger's path: its own queue and concurrency.</summary>
public sealed class AlertWebhookDeliveryConsumer(
    IHttpClientFactory http, IOptions<AlertOptions> options, TimeProvider clock, IMeterFactory meters, ILogger<AlertWebhookDeliveryConsumer> logger)
    : IConsumer<AlertWebhookDelivery>
{
    public const string HttpClientName = "alert-webhooks";
    private readonly Counter<long> _deliveries = meters.Create(WorkerMetrics.MeterName).CreateCounter<long>(
        "llmcost.alerts.webhook_deliveries", "{attempt}", "Alert webhook attempts by outcome: delivered, retried (5xx, 429, timeout, no connection), refused (another answer: dead-lettered).");

    public async Task Consume(ConsumeContext<AlertWebhookDelivery> context)
    {
        var delivery = context.Message;
        var webhooks = options.Value.Webhooks;
        if (delivery.Endpoint >= webhooks.Count)
        {
            throw new WebhookRefusedException($"Alerts:Webhooks:{delivery.Endpoint} is no longer configured.");
        }

        var webhook = webhooks[delivery.Endpoint];
        using var activity = ActivityContext.TryParse(delivery.TraceParent, null, out var parent)
            ? WorkerMetrics.ActivitySource.StartActivity("deliver alert webhook", ActivityKind.Client, parent)
            : WorkerMetrics.ActivitySource.StartActivity("deliver alert webhook", ActivityKind.Client);
        activity?.SetTag("llmcost.alert.type", delivery.Type);
        activity?.SetTag("llmcost.webhook.endpoint", delivery.Endpoint);
        activity?.SetTag("llmcost.webhook.attempt", context.GetRetryAttempt() + 1);

        var timestamp = clock.GetUtcNow().ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, webhook.Url) { Content = new StringContent(delivery.Body, Encoding.UTF8, "application/json") };
        request.Headers.Add("webhook-id", delivery.WebhookId);
        request.Headers.Add("webhook-timestamp", timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (webhook.Secret is { Length: > 0 } secret && WebhookSignature.KeyOf(secret) is { } key)
        {
            request.Headers.Add("webhook-signature", WebhookSignature.Sign(key, delivery.WebhookId, timestamp, delivery.Body));
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        timeout.CancelAfter(options.Value.DeliveryTimeout);
        HttpResponseMessage response;
        try
        {
            response = await http.CreateClient(HttpClientName).SendAsync(request, timeout.Token);
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is OperationCanceledException && !context.CancellationToken.IsCancellationRequested))
        {
            Count("retried", activity);
            throw new WebhookRetryException($"Alert webhook {delivery.Endpoint} did not answer: {ex.Message}", ex);
        }

        using (response)
        {
            activity?.SetTag("http.response.status_code", (int)response.StatusCode);
            if (response.IsSuccessStatusCode)
            {
                Count("delivered", activity);
                return;
            }

            if ((int)response.StatusCode >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Count("retried", activity);
                throw new WebhookRetryException($"Alert webhook {delivery.Endpoint} answered {(int)response.StatusCode}.");
            }

            Count("refused", activity);
            logger.LogWarning("Alert webhook {Endpoint} refused {WebhookId} with {Status}: dead-lettered", delivery.Endpoint, delivery.WebhookId, (int)response.StatusCode);
            throw new WebhookRefusedException($"Alert webhook {delivery.Endpoint} answered {(int)response.StatusCode}; not retried.");
        }
    }

    private void Count(string outcome, Activity? activity)
    {
        _deliveries.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
        if (outcome != "delivered")
        {
            activity?.SetStatus(ActivityStatusCode.Error, outcome);
        }
    }
}

/// <summary>An attempt worth repeating: 5xx, 429, a timeout, no connection.</summary>
public sealed class WebhookRetryException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>An answer that repeating will not change (4xx but 429): the delivery is dead-lettered at once.</summary>
public sealed class WebhookRefusedException(string message) : Exception(message);

public sealed class AlertWebhookDeliveryConsumerDefinition : ConsumerDefinition<AlertWebhookDeliveryConsumer>
{
    private readonly AlertOptions _options;

    public AlertWebhookDeliveryConsumerDefinition(IOptions<AlertOptions> options)
    {
        _options = options.Value;
        EndpointName = QueueNames.AlertWebhooks;
        ConcurrentMessageLimit = _options.ConcurrentDeliveries;
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<AlertWebhookDeliveryConsumer> consumerConfigurator, IRegistrationContext context) =>
        endpointConfigurator.UseMessageRetry(retry =>
        {
            retry.Handle<WebhookRetryException>();
            retry.Exponential(_options.DeliveryAttempts - 1, _options.RetryMinDelay, _options.RetryMaxDelay, _options.RetryMinDelay);
        });
}
