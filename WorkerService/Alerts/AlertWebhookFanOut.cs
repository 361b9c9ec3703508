using LlmCostTracker.Alerts;
using LlmCostTracker.Contracts;
using MassTransit;
using Microsoft.Extensions.Options;

namespace LlmCostTracker.WorkerService.Alerts;

/// <summary>Turns each published alert into one delivery message per webhook endpoint that wants its type, rendered
/// in that endpoint's format: each endpoint then retries (and dead-letters) on its own, and an endpoint that is down
/// never makes another receive an alert twice. Registered only when webhooks are configured.</summary>
public sealed class AlertWebhookFanOut(IOptions<AlertOptions> options)
    : IConsumer<BudgetThresholdCrossed>, IConsumer<TagBudgetThresholdCrossed>, IConsumer<BudgetForecastExhausted>,
    IConsumer<TagBudgetForecastExhausted>
{
    public const string QueueName = "llm-alert-webhook-fan-out";

    public Task Consume(ConsumeContext<BudgetThresholdCrossed> context) => FanOutAsync(context, AlertPayload.For(context.Message));

    public Task Consume(ConsumeContext<TagBudgetThresholdCrossed> context) => FanOutAsync(context, AlertPayload.For(context.Message));

    public Task Consume(ConsumeContext<BudgetForecastExhausted> context) => FanOutAsync(context, AlertPayload.For(context.Message));

    public Task Consume(ConsumeContext<TagBudgetForecastExhausted> context) => FanOutAsync(context, AlertPayload.For(context.Message));

    private async Task FanOutAsync(ConsumeContext context, AlertPayload alert)
    {
        var webhooks = options.Value.Webhooks;
        for (var i = 0; i < webhooks.Count; i++)
        {
            if (webhooks[i].Wants(alert.Type))
            {
                await context.Publish(new AlertWebhookDelivery
                {
                    Endpoint = i,
                    WebhookId = alert.Id,
                    Type = alert.Type,
                    Body = webhooks[i].Format == WebhookEndpoint.Slack ? alert.Slack() : alert.ToJson(),
                    TraceParent = alert.TraceParent,
                }, context.CancellationToken);
            }
        }
    }
}

public sealed class AlertWebhookFanOutDefinition : ConsumerDefinition<AlertWebhookFanOut>
{
    public AlertWebhookFanOutDefinition(IOptions<AlertOptions> options)
    {
        EndpointName = AlertWebhookFanOut.QueueName;
        ConcurrentMessageLimit = options.Value.ConcurrentDeliveries;
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<AlertWebhookFanOut> consumerConfigurator, IRegistrationContext context) =>
        // Publishing to the broker only: a few quick retries cover a broker blip.
        endpointConfigurator.UseMessageRetry(retry => retry.Intervals(100, 500, 1_000, 5_000));
}
