using LlmCostTracker.ApiService.Budgets;
using LlmCostTracker.ApiService.Ingestion;
using LlmCostTracker.ApiService.Reporting;
using LlmCostTracker.Contracts;
using LlmCostTracker.ApiService.Security;
using MassTransit;

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
        });

        builder.AddRedisClient("redis");
        builder.Services.AddOptions<BudgetOptions>()
            .BindConfiguration(BudgetOptions.SectionName)
            .PostConfigure(o => o.Normalize())
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<CostReports>();
        builder.Services.AddSingleton<BudgetStore>();

        builder.Services.AddOptions<IngestOptions>()
            .BindConfiguration(IngestOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        builder.AddApiKeyAuthentication();
        builder.AddMessaging();
        builder.AddApiDocumentation();

        builder.Services.AddSingleton<UsagePublisher>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<UsagePublisher>());

        // Registered after the publisher: hosted services stop in reverse order, so the tracker drains first.
        builder.Services.AddUsageTracker<BrokerUsageSink>();
    }

    private static void AddApiKeyAuthentication(this IHostApplicationBuilder builder)
    {
        builder.Services.AddAuthentication()
            .AddScheme<ApiKeyAuthenticationOptions, ApiKeyAuthenticationHandler>(ApiKeyDefaults.IngestScheme, options =>
            {
                options.ApiKey = builder.Configuration["Ingest:ApiKey"];
                options.HeaderName = ApiKeyDefaults.IngestHeader;
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
        var connectionString = builder.Configuration.GetConnectionString("rabbitmq")
            ?? throw new InvalidOperationException("ConnectionStrings:rabbitmq is not set (the AppHost provides it).");

        builder.Services.AddMassTransit(bus =>
        {
            bus.UsingRabbitMq((context, cfg) =>
            {
                cfg.Host(new Uri(connectionString));
                // Declare the worker's durable queue on publish, so nothing confirmed is dropped for want of a binding
                // when the API starts before the worker ever has.
                cfg.Publish<LlmUsageRecorded>(p => p.BindQueue(QueueNames.UsageAggregation, QueueNames.UsageAggregation));
                cfg.Publish<UserBudgetChanged>(p => p.BindQueue(QueueNames.BudgetChanges, QueueNames.BudgetChanges));
                cfg.ConfigureEndpoints(context);
            });
        });
        builder.Services.Configure<MassTransitHostOptions>(options => options.WaitUntilStarted = false);
    }
}
