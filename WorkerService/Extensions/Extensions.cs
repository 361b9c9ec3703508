using LlmCostTracker.History;
using LlmCostTracker.Alerts;
using LlmCostTracker.Contracts;
using LlmCostTracker.WorkerService.Aggregation;
using LlmCostTracker.WorkerService.Alerts;
using LlmCostTracker.WorkerService.Attribution;
using LlmCostTracker.WorkerService.Budgets;
using LlmCostTracker.Pricing;
using LlmCostTracker.Ledger;
using LlmCostTracker.Messaging;
using LlmCostTracker.WorkerService.Pricing;
using MassTransit;

namespace LlmCostTracker.WorkerService.Extensions;

public static class Extensions
{
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton(TimeProvider.System);
        // The worker's prices are the versions in force that the admin API lists.
        builder.AddLedger(reportsPriceVersion: true);
        // Daily rollups into PostgreSQL: each ledger call appends its sums to its bucket's stream, the writer folds them.
        builder.AddHistory(writeRollups: true);

        // The stop bound (Shutdown:Timeout, ServiceDefaults): a message still being retried at shutdown is not waited
        // for; unacknowledged, the broker redelivers it (to another replica or after restart) and the ledger's claims
        // make that safe.
        builder.Services.AddSingleton<WorkerMetrics>();

        builder.Services.AddOptions<PricingOptions>()
            .BindConfiguration(PricingOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateWith(o => o.Problems())
            .ValidateOnStart();
        builder.Services.AddSingleton<UnknownModels>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<UnknownModels>());
        builder.Services.AddOptions<RetryOptions>()
            .BindConfiguration(RetryOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddOptions<AggregationOptions>()
            .BindConfiguration(AggregationOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        builder.Services.AddOptions<AttributionOptions>()
            .BindConfiguration(AttributionOptions.SectionName)
            .PostConfigure(o => o.Normalize())
            .ValidateDataAnnotations()
            .ValidateWith(o => o.Problems())
            .ValidateOnStart();
        builder.Services.AddSingleton<TagAttribution>();
        builder.Services.AddHostedService<TagFolder>();

        builder.Services.AddSingleton<CostLedger>();
        builder.Services.AddSingleton<AlertStates>();
        builder.Services.AddSingleton<BudgetAlerts>();
        builder.Services.AddOptions<ForecastOptions>()
            .BindConfiguration(ForecastOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        // Registered before the bus, so it stops after the bus has finished the messages it was consuming.
        builder.Services.AddSingleton<LedgerBatcher>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<LedgerBatcher>());

        builder.Services.AddSingleton<DeadLetterMonitor>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DeadLetterMonitor>());

        // Deliveries are retried by the bus alone, with growing delays and a dead-letter queue (AlertWebhookServices).
        builder.Services.AddAlertWebhooks();

        builder.AddMessaging();
        // After the bus: it stops before the bus does, so a scan never publishes into a stopped bus.
        builder.Services.AddSingleton<ForecastScanner>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ForecastScanner>());
    }

    private static void AddMessaging(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<MessagingOptions>()
            .BindConfiguration(MessagingOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        var quorum = builder.Configuration.GetSection(MessagingOptions.SectionName).Get<MessagingOptions>()?.IsQuorum ?? false;

        builder.AddBrokerMessaging(bus =>
        {
            bus.AddConsumer<LlmUsageRecordedConsumer, LlmUsageRecordedConsumerDefinition>();
            bus.AddConsumer<UserBudgetChangedConsumer, UserBudgetChangedConsumerDefinition>();
            bus.AddConsumer<ConsumerFaultReporter>();
            // Alerts to webhooks: the deliveries' queue always (what waits in it, or in its error queue, can still go
            // out), the fan-out from published alerts only when an endpoint is configured.
            bus.AddConsumer<AlertWebhookDeliveryConsumer, AlertWebhookDeliveryConsumerDefinition>();
            if (builder.Configuration.GetSection($"{AlertOptions.SectionName}:Webhooks").GetChildren().Any())
            {
                bus.AddConsumer<AlertWebhookFanOut, AlertWebhookFanOutDefinition>();
            }
            if (quorum)
            {
                // Every endpoint here is a durable named queue, which is all a quorum queue can be.
                bus.AddConfigureEndpointsCallback((_, _, endpoint) =>
                {
                    if (endpoint is IRabbitMqReceiveEndpointConfigurator rabbit)
                    {
                        rabbit.SetQuorumQueue();
                    }
                });
            }
        }, (context, cfg) =>
        {
            cfg.ConfigureJsonSerializerOptions(MessageJson.Configure);
            // The API sends plain JSON (application/json); enveloped messages (earlier versions, other senders)
            // are still read.
            cfg.UseRawJsonDeserializer();
            cfg.ConfigureEndpoints(context);
        });
    }
}
