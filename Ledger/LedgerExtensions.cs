using LlmCostTracker.Contracts;
using LlmCostTracker.Ledger.Budgets;
using LlmCostTracker.Ledger.Holds;
using LlmCostTracker.Ledger.Pricing;
using LlmCostTracker.Ledger.Reports;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace LlmCostTracker.Ledger;

public static class LedgerExtensions
{
    /// <summary>The Redis side both services share, registered once: the Redis client, the key layout and its check
    /// against the running Redis, budgets, the price book in force (it reads <c>PricingOptions</c>, which the service
    /// binds), the overrides' admin (<see cref="PriceAdmin"/>), the hold store, the stored budgets and the report reader. <paramref name="reportsPriceVersion"/>: the worker, whose prices the admin API lists
    /// as the versions in force.</summary>
    public static IHostApplicationBuilder AddLedger(this IHostApplicationBuilder builder, bool reportsPriceVersion)
    {
        // The ledger makes its own Redis spans (RedisSpans), one per group of commands sent together: the per-command
        // instrumentation held every request's activity and commands in memory until its flush.
        builder.AddRedisClient("redis", settings => settings.DisableTracing = true);
        var services = builder.Services;
        services.AddOptions<LedgerOptions>()
            .BindConfiguration(LedgerOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton(sp => new LedgerKeys(sp.GetRequiredService<IOptions<LedgerOptions>>().Value.Buckets));
        services.AddSingleton(sp => new ClaimWindow(sp.GetRequiredService<IOptions<LedgerOptions>>().Value.DedupWindow));
        // Before the service's own hosted services: nothing counts or reads before the layout is known to match.
        services.AddHostedService<LedgerLayoutCheck>();
        services.AddHostedService<RedisDurabilityCheck>();
        services.AddHostedService<RedisCloseOnStop>();

        services.AddOptions<BudgetOptions>()
            .BindConfiguration(BudgetOptions.SectionName)
            .PostConfigure(o => o.Normalize())
            .ValidateDataAnnotations()
            .Validate(o => o.ThresholdsPercent.All(t => t is > 0 and <= 1000), "Budgets:ThresholdsPercent must be between 1 and 1000.")
            .ValidateOnStart();

        services.AddSingleton<CatalogStore>();
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<PriceBookSource>(sp, reportsPriceVersion));
        services.AddHostedService(sp => sp.GetRequiredService<PriceBookSource>());
        services.AddSingleton<BudgetHolds>();
        services.AddSingleton<UserBudgets>();
        services.AddSingleton<TagBudgets>();
        services.AddSingleton<PriceAdmin>();
        services.AddSingleton<LedgerReader>();
        return builder;
    }
}
