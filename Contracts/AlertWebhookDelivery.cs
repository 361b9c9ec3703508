namespace LlmCostTracker.Contracts;

/// <summary>One alert to deliver to one webhook endpoint (the worker's queue <see cref="QueueNames.AlertWebhooks"/>):
/// the body is rendered once, in the endpoint's format, and <see cref="WebhookId"/> is the same for every attempt, so
/// a receiver that saw an attempt succeed can drop a repeat (Standard Webhooks' <c>webhook-id</c>).</summary>
public sealed record AlertWebhookDelivery
{
    /// <summary>Which configured endpoint (<c>Alerts:Webhooks:N</c>).</summary>
    public required int Endpoint { get; init; }

    public required string WebhookId { get; init; }

    /// <summary>The alert type: <c>budget.threshold_crossed</c> or <c>tag_budget.threshold_crossed</c>.</summary>
    public required string Type { get; init; }

    public required string Body { get; init; }

    /// <summary>W3C traceparent of the usage event that crossed the threshold, when one did: the delivery joins its trace.</summary>
    public string? TraceParent { get; init; }
}
