using System.Runtime.CompilerServices;
using LlmCostTracker.Contracts;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace LlmCostTracker.CostTracking;

/// <summary>Options of the chat client middleware.</summary>
public sealed class CostTrackingChatOptions
{
    /// <summary>The user to charge when no <see cref="CostTrackingContext"/> scope names one.</summary>
    public string? DefaultUserId { get; set; }

    /// <summary>Picks the user from the call's options (e.g. an <c>AdditionalProperties</c> entry); wins over the others.</summary>
    public Func<ChatOptions?, string?>? UserIdSelector { get; set; }
}

/// <summary>Records each response's <see cref="UsageDetails"/> (for streaming, the usage update at the end) with
/// the <see cref="UsageTracker"/>. It only buffers: no network round trip is added to the call, and nothing it does
/// can throw into the caller.</summary>
public sealed class CostTrackingChatClient(IChatClient inner, UsageTracker tracker, CostTrackingChatOptions options, ILogger? logger = null)
    : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? chatOptions = null, CancellationToken cancellationToken = default)
    {
        var response = await base.GetResponseAsync(messages, chatOptions, cancellationToken);
        Record(response.Usage, response.ModelId, response.ResponseId, chatOptions);
        return response;
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? chatOptions = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        UsageDetails? usage = null;
        string? modelId = null, responseId = null;
        await foreach (var update in base.GetStreamingResponseAsync(messages, chatOptions, cancellationToken))
        {
            modelId ??= update.ModelId;
            responseId ??= update.ResponseId;
            foreach (var content in update.Contents)
            {
                if (content is UsageContent { Details: { } details })
                {
                    usage ??= new UsageDetails();
                    usage.Add(details);
                }
            }

            yield return update;
        }

        Record(usage, modelId, responseId, chatOptions);
    }

    private void Record(UsageDetails? usage, string? modelId, string? responseId, ChatOptions? chatOptions)
    {
        try
        {
            if (usage is null)
            {
                return;
            }

            var userId = options.UserIdSelector?.Invoke(chatOptions) ?? CostTrackingContext.CurrentUserId ?? options.DefaultUserId;
            if (userId is null)
            {
                logger?.LogWarning("LLM usage not tracked: no user id (set CostTrackingContext.ForUser or DefaultUserId)");
                return;
            }

            var model = modelId ?? chatOptions?.ModelId ?? InnerClient.GetService<ChatClientMetadata>()?.DefaultModelId ?? "unknown";
            var eventId = responseId is { Length: > 0 and <= UsageValidator.MaxIdLength } && UsageValidator.IsSafeId(responseId) ? responseId : null;
            tracker.Track(new TrackedUsage(
                userId,
                model,
                usage.InputTokenCount ?? 0,
                usage.OutputTokenCount ?? 0,
                usage.CachedInputTokenCount ?? 0,
                eventId));
        }
        catch (Exception ex)
        {
            logger?.LogWarning(ex, "LLM usage not tracked");
        }
    }
}
