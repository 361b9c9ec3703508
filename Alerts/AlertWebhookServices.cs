using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LlmCostTracker.Alerts;

/// <summary>What either service needs to post alert webhooks: the <c>Alerts</c> options, checked at start, and the
/// named HttpClient without a resilience handler (the worker's bus retries deliveries, with its dead-letter queue;
/// a test send is one attempt: the default handler would repeat either).</summary>
public static class AlertWebhookServices
{
    public static IServiceCollection AddAlertWebhooks(this IServiceCollection services)
    {
        services.AddOptions<AlertOptions>()
            .BindConfiguration(AlertOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<AlertOptions>, AlertOptionsProblems>();
        // RemoveAllResilienceHandlers is marked for evaluation; its package's version is pinned centrally.
#pragma warning disable EXTEXP0001
        services.AddHttpClient(WebhookPoster.HttpClientName).RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001
        return services;
    }

    private sealed class AlertOptionsProblems : IValidateOptions<AlertOptions>
    {
        public ValidateOptionsResult Validate(string? name, AlertOptions options)
        {
            var problems = options.Problems().ToList();
            return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
        }
    }
}
