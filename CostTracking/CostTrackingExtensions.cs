using LlmCostTracker.CostTracking;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.DependencyInjection;

public static class CostTrackingExtensions
{
    /// <summary>Registers the <see cref="UsageTracker"/> (singleton and hosted service, so it drains on shutdown)
    /// over the given sink. Options come from the <c>CostTracking</c> section.</summary>
    public static IServiceCollection AddUsageTracker<TSink>(this IServiceCollection services) where TSink : class, IUsageSink
    {
        services.AddOptions<CostTrackingOptions>()
            .BindConfiguration(CostTrackingOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IUsageSink, TSink>();
        services.TryAddSingleton<UsageTracker>();
        services.AddHostedService(sp => sp.GetRequiredService<UsageTracker>());
        return services;
    }

    /// <summary>Cost tracking for any service: the tracker sends to the ingestion API at
    /// <c>CostTracking:Endpoint</c> with the key <c>CostTracking:ApiKey</c>.</summary>
    public static IHostApplicationBuilder AddLlmCostTracking(this IHostApplicationBuilder builder)
    {
        builder.Services.AddHttpClient<IUsageSink, HttpUsageSink>(ToIngestionApi);
        // Budget holds (EnforceBudget in the chat client middleware) on the same API and key.
        builder.Services.AddHttpClient<IBudgetHoldClient, HttpBudgetHoldClient>(ToIngestionApi);
        builder.Services.AddUsageTracker<HttpUsageSink>();
        return builder;
    }

    private static void ToIngestionApi(IServiceProvider sp, HttpClient http)
    {
        var options = sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<CostTrackingOptions>>().Value;
        http.BaseAddress = options.Endpoint ?? throw new InvalidOperationException("CostTracking:Endpoint is not set.");
        http.DefaultRequestHeaders.Add("X-Api-Key", options.ApiKey ?? throw new InvalidOperationException("CostTracking:ApiKey is not set."));
    }

    /// <summary>Adds cost tracking to a chat client pipeline: each response's usage is recorded for the user of the
    /// ambient <see cref="CostTrackingContext"/> (or the options' user); with
    /// <see cref="CostTrackingChatOptions.EnforceBudget"/>, each call first takes a budget hold.</summary>
    public static ChatClientBuilder UseLlmCostTracking(this ChatClientBuilder builder, Action<CostTrackingChatOptions>? configure = null)
    {
        var options = new CostTrackingChatOptions();
        configure?.Invoke(options);
        return builder.Use((inner, services) => new CostTrackingChatClient(
            inner,
            services.GetRequiredService<UsageTracker>(),
            options,
            services.GetService<ILoggerFactory>()?.CreateLogger<CostTrackingChatClient>(),
            services.GetService<IBudgetHoldClient>(),
            services.GetService<System.Diagnostics.Metrics.IMeterFactory>() is { } meters ? new BudgetHoldMetrics(meters) : null));
    }
}
