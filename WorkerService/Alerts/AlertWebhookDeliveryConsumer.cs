using System.Diagnostics;
using System.Diagnostics.Metrics;
using LlmCostTracker.Alerts;
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

        var attempt = await WebhookPoster.PostAsync(
            http.CreateClient(WebhookPoster.HttpClientName), webhook, delivery.WebhookId, delivery.Body, clock.GetUtcNow(), options.Value.DeliveryTimeout,
            responseChars: 0, context.CancellationToken);
        if (attempt.StatusCode is { } status)
        {
            activity?.SetTag("http.response.status_code", status);
        }

        switch (attempt.Outcome)
        {
            case WebhookOutcome.Delivered:
                Count("delivered", activity);
                return;
            case WebhookOutcome.Retry:
                Count("retried", activity);
                throw new WebhookRetryException($"Alert webhook {delivery.Endpoint} {(attempt.StatusCode is { } code ? $"answered {code}" : $"did not answer: {attempt.Error}")}.");
            default:
                Count("refused", activity);
                logger.LogWarning("Alert webhook {Endpoint} refused {WebhookId} with {Status}: dead-lettered", delivery.Endpoint, delivery.WebhookId, attempt.StatusCode);
                throw new WebhookRefusedException($"Alert webhook {delivery.Endpoint} answered {attempt.StatusCode}; not retried.");
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
