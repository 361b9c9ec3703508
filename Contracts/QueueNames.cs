namespace LlmCostTracker.Contracts;

/// <summary>Broker queue names both sides declare, so a message published before the worker's first start
/// already has a durable queue to wait in.</summary>
public static class QueueNames
{
    public const string UsageAggregation = "llm-usage-aggregation";
    public const string BudgetChanges = "llm-budget-changes";

    /// <summary>One message per alert and webhook endpoint (<see cref="AlertWebhookDelivery"/>); its <c>_error</c>
    /// queue holds the deliveries that exhausted their attempts.</summary>
    public const string AlertWebhooks = "llm-alert-webhooks";

    /// <summary>MassTransit's suffix of the queue that holds a queue's messages whose retries ran out.</summary>
    public const string ErrorSuffix = "_error";

    public static string ErrorQueueOf(string queue) => queue + ErrorSuffix;
}
