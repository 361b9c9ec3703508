using System.Runtime.CompilerServices;
using LlmCostTracker.Contracts;
using LlmCostTracker.Contracts.Pricing;
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

    /// <summary>The service tier the calls are billed at (null: standard), unless the response names one in its
    /// <c>AdditionalProperties</c> (<see cref="CostTrackingChatClient.ServiceTierKeys"/>).</summary>
    public string? ServiceTier { get; set; }
}

/// <summary>Records each response's <see cref="UsageDetails"/> (for streaming, the usage update at the end) with
/// the <see cref="UsageTracker"/>. It only buffers: no network round trip is added to the call, and nothing it does
/// can throw into the caller.</summary>
public sealed class CostTrackingChatClient(IChatClient inner, UsageTracker tracker, CostTrackingChatOptions options, ILogger? logger = null)
    : DelegatingChatClient(inner)
{
    /// <summary>Keys of <see cref="UsageDetails.AdditionalCounts"/> read as cache writes (MEAI has no field for them),
    /// the first present: the OpenTelemetry attribute, then Anthropic's usage field.</summary>
    public static readonly string[] CacheWriteCountKeys = ["gen_ai.usage.cache_creation.input_tokens", "cache_creation_input_tokens", "CacheCreationInputTokens"];

    /// <summary>Keys of a response's <c>AdditionalProperties</c> read as its service tier (OpenAI's <c>service_tier</c>).</summary>
    public static readonly string[] ServiceTierKeys = ["service_tier", "ServiceTier"];

    public override async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? chatOptions = null, CancellationToken cancellationToken = default)
    {
        var response = await base.GetResponseAsync(messages, chatOptions, cancellationToken);
        Record(response.Usage, response.ModelId, response.ResponseId, chatOptions, response.AdditionalProperties);
        return response;
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? chatOptions = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        UsageDetails? usage = null;
        string? modelId = null, responseId = null;
        AdditionalPropertiesDictionary? properties = null;
        await foreach (var update in base.GetStreamingResponseAsync(messages, chatOptions, cancellationToken))
        {
            modelId ??= update.ModelId;
            responseId ??= update.ResponseId;
            properties ??= update.AdditionalProperties;
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

        Record(usage, modelId, responseId, chatOptions, properties);
    }

    private void Record(UsageDetails? usage, string? modelId, string? responseId, ChatOptions? chatOptions, AdditionalPropertiesDictionary? properties)
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
            var cached = usage.CachedInputTokenCount ?? 0;
            var cacheWrite = CacheWriteCountKeys.Select(k => usage.AdditionalCounts?.TryGetValue(k, out var n) == true ? n : (long?)null).FirstOrDefault(n => n is not null) ?? 0;
            // MEAI counts every input token in InputTokenCount; a provider that reports cache reads or writes apart
            // from it (Anthropic's input_tokens does) has them added, so no token goes unbilled.
            var input = Math.Max(usage.InputTokenCount ?? 0, cached + cacheWrite);
            var output = usage.OutputTokenCount ?? 0;
            var tier = ServiceTierKeys.Select(k => properties?.TryGetValue(k, out var v) == true ? v?.ToString() : null).FirstOrDefault(v => v is not null) ?? options.ServiceTier;
            var provider = InnerClient.GetService<ChatClientMetadata>()?.ProviderName?.ToLowerInvariant();
            tracker.Track(new TrackedUsage(
                userId,
                model,
                input,
                output,
                cached,
                eventId,
                CacheWriteInputTokens: cacheWrite,
                ReasoningOutputTokens: Math.Min(usage.ReasoningTokenCount ?? 0, output),
                ServiceTier: tier is not null && ServiceTiers.Normalize(tier) is { } known && known != ServiceTiers.Standard ? known : null,
                Provider: provider is not null && UsageValidator.IsProviderName(provider) ? provider : null));
        }
        catch (Exception ex)
        {
            logger?.LogWarning(ex, "LLM usage not tracked");
        }
    }
}
