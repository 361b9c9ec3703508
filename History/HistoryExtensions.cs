using LlmCostTracker.History.Repricing;
using LlmCostTracker.History.Reports;
using LlmCostTracker.History.Rollups;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace LlmCostTracker.History;

public static class HistoryExtensions
{
    /// <summary>The history database, when the <c>history</c> connection string is set (the AppHost always sets it);
    /// otherwise nothing, and the service runs on Redis alone. <paramref name="writeRollups"/>: the worker, which
    /// folds the ledger's rollup streams into it; the API reads it. Returns whether history is on.</summary>
    public static bool AddHistory(this IHostApplicationBuilder builder, bool writeRollups)
    {
        if (string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString(HistoryOptions.ConnectionName)))
        {
            return false;
        }

        builder.AddNpgsqlDataSource(HistoryOptions.ConnectionName, settings =>
        {
            // Its own check would turn the service unhealthy while PostgreSQL is down; ingestion does not need it
            // (the worker's "history" check reports the rollup lag instead).
            settings.DisableHealthChecks = true;
            // The writer's transactions every FlushInterval are not anyone's request: no trace of their own. The API's
            // reads are traced under the report request.
            settings.DisableTracing = writeRollups;
        });
        builder.Services.AddOptions<HistoryOptions>().BindConfiguration(HistoryOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<HistoryReader>();
        builder.Services.AddSingleton<RollupStore>();
        if (!writeRollups)
        {
            builder.Services.AddSingleton<Repricer>();
        }
        else
        {
            builder.Services.AddSingleton<RollupWriter>();
            builder.Services.AddHostedService(sp => sp.GetRequiredService<RollupWriter>());
            builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
                RollupWriter.HealthCheckName, sp => sp.GetRequiredService<RollupWriter>(), HealthStatus.Degraded, tags: null));
        }

        return true;
    }
}
