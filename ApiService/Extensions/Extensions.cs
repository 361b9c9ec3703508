using LlmCostTracker.History;
using LlmCostTracker.ApiService.Budgets;
using LlmCostTracker.ApiService.Ingestion;
using LlmCostTracker.ApiService.Pricing;
using LlmCostTracker.Pricing;
using LlmCostTracker.ApiService.Reporting;
using LlmCostTracker.Ledger;
using LlmCostTracker.Alerts;
using LlmCostTracker.Contracts;
using LlmCostTracker.Messaging;
using LlmCostTracker.ApiService.Otlp;
using LlmCostTracker.ApiService.Security;
using LlmCostTracker.ApiService.WarmUp;
using Grpc.AspNetCore.Server;
using MassTransit;
using Microsoft.Extensions.Options;

namespace LlmCostTracker.ApiService.Extensions;

public static class Extensions
{
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<IngestMetrics>();
        builder.Services.ConfigureHttpJsonOptions(options =>
        {
            options.SerializerOptions.TypeInfoResolverChain.Insert(0, IngestJsonContext.Default);
            options.SerializerOptions.TypeInfoResolverChain.Insert(1, AdminJsonContext.Default);
            options.SerializerOptions.TypeInfoResolverChain.Insert(2, PricingJsonContext.Default);
        });

        // The ledger's prices in force serve budget holds; they report no version (the admin API lists workers').
        builder.AddLedger(reportsPriceVersion: false);
        // Months Redis has let go are read from the history database (reports, exports).
        builder.AddHistory(writeRollups: false);
        builder.Services.AddSingleton<CostReports>();
        builder.Services.AddOptions<AttributionOptions>()
            .BindConfiguration(AttributionOptions.SectionName)
            .PostConfigure(o => o.Normalize())
            .ValidateDataAnnotations()
            .ValidateWith(o => o.Problems())
            .ValidateOnStart();
        builder.Services.AddSingleton<TagReports>();
        builder.Services.AddOptions<PricingOptions>()
            .BindConfiguration(PricingOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateWith(o => o.Problems())
            .ValidateOnStart();
        builder.Services.AddSingleton<CatalogImport>();
        builder.Services.AddHttpClient(CatalogPull.HttpClientName);
        builder.Services.AddSingleton<CatalogPull>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<CatalogPull>());
        builder.Services.AddHealthChecks().AddCheck<CatalogPull>("pricing-catalog-pull");
        builder.Services.AddSingleton<BudgetStore>();

        builder.Services.AddOptions<IngestOptions>()
            .BindConfiguration(IngestOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        builder.AddApiKeyAuthentication();
        builder.AddMessaging();
        builder.AddApiDocumentation();

        builder.Services.AddSingleton<BrokerWaitLimit>();
        builder.Services.AddSingleton<UsagePublisher>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<UsagePublisher>());

        builder.AddOtlpIngestion();

        builder.Services.AddOptions<WarmUpOptions>()
            .BindConfiguration(WarmUpOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<StartupWarmUp>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<StartupWarmUp>());
        builder.Services.AddHealthChecks().AddCheck<StartupWarmUp>("warm-up");
    }

    /// <summary>OTLP trace exports as usage: OTLP/HTTP on the API's endpoints, OTLP/gRPC on its HTTP/2 <c>otlp</c> one.</summary>
    private static void AddOtlpIngestion(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<OtlpIngestOptions>()
            .BindConfiguration(OtlpIngestOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateWith<OtlpIngestOptions, IOptions<AttributionOptions>>((o, attribution) => o.Problems(attribution.Value.Dimensions))
            .ValidateOnStart();
        builder.Services.AddSingleton<OtlpTraceIngest>();

        // The alert webhooks, for the admin API's list and test send (the worker delivers the real alerts).
        builder.Services.AddAlertWebhooks();
        builder.Services.AddGrpc();
        builder.Services.AddOptions<GrpcServiceOptions>()
            .Configure<IOptions<OtlpIngestOptions>>((grpc, otlp) =>
            {
                grpc.MaxReceiveMessageSize = otlp.Value.MaxRequestBytes;
                // No catch-all "unimplemented" routes: they would answer any other POST /x/y (a JSON endpoint sent the
                // wrong content type, say) with gRPC's 404 instead of the endpoint's own 415.
                grpc.IgnoreUnknownServices = true;
            });
    }

    private static void AddApiKeyAuthentication(this IHostApplicationBuilder builder)
    {
        builder.Services.AddAuthentication()
            .AddScheme<ApiKeyAuthenticationOptions, ApiKeyAuthenticationHandler>(ApiKeyDefaults.IngestScheme, options =>
            {
                // Generated by the AppHost (ingest-api-key / admin-api-key); empty means the scheme refuses everyone.
                options.ApiKey = builder.Configuration["Ingest:ApiKey"];
                options.HeaderName = ApiKeyDefaults.IngestHeader;
                // What OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<key> sends.
                options.AcceptBearer = true;
            })
            .AddScheme<ApiKeyAuthenticationOptions, ApiKeyAuthenticationHandler>(ApiKeyDefaults.AdminScheme, options =>
            {
                options.ApiKey = builder.Configuration["Admin:ApiKey"];
                options.HeaderName = ApiKeyDefaults.AdminHeader;
                options.AcceptBearer = true;
            });

        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(ApiKeyDefaults.IngestPolicy, policy => policy
                .AddAuthenticationSchemes(ApiKeyDefaults.IngestScheme)
                .RequireAuthenticatedUser())
            .AddPolicy(ApiKeyDefaults.AdminPolicy, policy => policy
                .AddAuthenticationSchemes(ApiKeyDefaults.AdminScheme)
                .RequireAuthenticatedUser());
    }

    private static void AddMessaging(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<MessagingOptions>()
            .BindConfiguration(MessagingOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        var quorum = builder.Configuration.GetSection(MessagingOptions.SectionName).Get<MessagingOptions>()?.IsQuorum ?? false;

        builder.AddBrokerMessaging(_ => { }, (context, cfg) =>
        {
            cfg.ConfigureJsonSerializerOptions(MessageJson.Configure);
            // Messages go out as plain JSON (headers in the transport's headers), not inside MassTransit's envelope:
            // the worker then builds one JSON document per body instead of two (the envelope, then its message)
            // before reading the message: three large buffers a message instead of five (allocation trace).
            cfg.UseRawJsonSerializer();
            // Declare the worker's durable queue on publish, so nothing confirmed is dropped for want of a binding
            // when the API starts before the worker ever has,
            // of the same type as the worker declares it (RabbitMQ refuses a redeclaration of another type).
            cfg.Publish<LlmUsageRecorded>(p => p.BindQueue(QueueNames.UsageAggregation, QueueNames.UsageAggregation, q => QueueType(q, quorum)));
            cfg.Publish<UserBudgetChanged>(p => p.BindQueue(QueueNames.BudgetChanges, QueueNames.BudgetChanges, q => QueueType(q, quorum)));
            cfg.ConfigureEndpoints(context);
        });
    }

    private static void QueueType(IRabbitMqQueueBindingConfigurator queue, bool quorum)
    {
        if (quorum)
        {
            queue.SetQuorumQueue();
        }
    }
}
