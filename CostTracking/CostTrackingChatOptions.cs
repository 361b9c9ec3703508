using Microsoft.Extensions.AI;

namespace LlmCostTracker.CostTracking;

/// <summary>Options of the chat client middleware.</summary>
public sealed class CostTrackingChatOptions
{
    /// <summary>The user to charge when no <see cref="CostTrackingContext"/> scope names one.</summary>
    public string? DefaultUserId { get; set; }

    /// <summary>Picks the user from the call's options (e.g. an <c>AdditionalProperties</c> entry); wins over the others.</summary>
    public Func<ChatOptions?, string?>? UserIdSelector { get; set; }

    /// <summary>The service tier the calls are billed at (null: standard), unless the response names one in its
    /// <c>AdditionalProperties</c> (<see cref="CostTrackingChatClient.ServiceTierKeys"/>).</summary>
    public string? ServiceTier { get; set; }

    /// <summary>Tags put on the usage of this pipeline's calls (e.g. <c>feature</c>), above the tracker's
    /// configured tags and below the ambient <see cref="CostTrackingContext.Tag"/> scopes.</summary>
    public Dictionary<string, string> Tags { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Ask for a budget hold before each call: a user whose enforced budget has no room gets a
    /// <see cref="BudgetExceededException"/> and the inner client is never called. Off by default.</summary>
    public bool EnforceBudget { get; set; }

    /// <summary>The output bound of a call whose <see cref="ChatOptions.MaxOutputTokens"/> is not set (the hold
    /// reserves this many output tokens).</summary>
    public int DefaultMaxOutputTokens { get; set; } = 4_096;

    /// <summary>How long the call waits for the hold before going on without one (<see cref="FailOpen"/>) or
    /// failing.</summary>
    public TimeSpan HoldTimeout { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>When no hold can be had in time: true (default) makes the call anyway, counted in
    /// <c>llmcost.tracker.holds</c> as failed_open; false throws <see cref="BudgetHoldUnavailableException"/>.</summary>
    public bool FailOpen { get; set; } = true;

    /// <summary>How long a hold lives unsettled (null: the API's default, 600 s).</summary>
    public TimeSpan? HoldTtl { get; set; }

    /// <summary>Whether the inner client's <see cref="UsageDetails.InputTokenCount"/> leaves out cache reads and
    /// writes (a client passing on Anthropic's raw <c>input_tokens</c>): null (default) follows Microsoft.Extensions.AI's
    /// convention, every input token, unless the cache counts exceed it (see <see cref="UsageTokens"/>).</summary>
    public bool? InputTokensExcludeCache { get; set; }

    /// <summary>Estimates the call's input tokens for its hold (default: characters / 4).</summary>
    public IInputTokenEstimator InputTokenEstimator { get; set; } = CharacterInputTokenEstimator.Instance;
}
