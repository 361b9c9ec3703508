using System.Runtime.CompilerServices;
using LlmCostTracker.Contracts;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace LlmCostTracker.CostTracking;

/// <summary>Records each response's <see cref="UsageDetails"/> (for streaming, the usage update at the end) with
/// the <see cref="UsageTracker"/>. Recording only buffers: no network round trip is added to the call, and nothing it
/// does can throw into the caller. With <see cref="CostTrackingChatOptions.EnforceBudget"/> it first asks for a
/// budget hold (one round trip, bounded by <see cref="CostTrackingChatOptions.HoldTimeout"/>): refused, the call is
/// not made (<see cref="BudgetExceededException"/>); granted, the usage carries the hold's id and settles it; the call
/// failing releases it.</summary>
public sealed class CostTrackingChatClient(
    IChatClient inner, UsageTracker tracker, CostTrackingChatOptions options, ILogger? logger = null, IBudgetHoldClient? holds = null, BudgetHoldMetrics? metrics = null)
    : DelegatingChatClient(inner)
{
    /// <summary>Keys of <see cref="UsageDetails.AdditionalCounts"/> read as cache writes (MEAI has no field for them).</summary>
    public static readonly string[] CacheWriteCountKeys = UsageTokens.CacheWriteCountKeys;

    /// <summary>Keys of a response's <c>AdditionalProperties</c> read as its service tier (OpenAI's <c>service_tier</c>).</summary>
    public static readonly string[] ServiceTierKeys = ["service_tier", "ServiceTier"];

    public override async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? chatOptions = null, CancellationToken cancellationToken = default)
    {
        var holdId = await HoldAsync(messages, chatOptions, cancellationToken);
        ChatResponse response;
        try
        {
            response = await base.GetResponseAsync(messages, chatOptions, cancellationToken);
        }
        catch
        {
            await ReleaseAsync(holdId);
            throw;
        }

        if (!Record(response.Usage, response.ModelId, response.ResponseId, chatOptions, response.AdditionalProperties, holdId))
        {
            await ReleaseAsync(holdId);
        }

        return response;
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? chatOptions = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var holdId = await HoldAsync(messages, chatOptions, cancellationToken);
        var settled = false;
        try
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

            settled = Record(usage, modelId, responseId, chatOptions, properties, holdId);
        }
        finally
        {
            // Failed, abandoned by the caller, or without usage: nothing will settle the hold.
            if (!settled)
            {
                await ReleaseAsync(holdId);
            }
        }
    }

    private string? UserOf(ChatOptions? chatOptions) =>
        options.UserIdSelector?.Invoke(chatOptions) ?? CostTrackingContext.CurrentUserId ?? options.DefaultUserId;

    /// <summary>The hold for this call, or null (enforcement off, no user, or none to be had in time and failing
    /// open). Throws <see cref="BudgetExceededException"/> or, failing closed, <see cref="BudgetHoldUnavailableException"/>.</summary>
    private async Task<string?> HoldAsync(IEnumerable<ChatMessage> messages, ChatOptions? chatOptions, CancellationToken ct)
    {
        if (!options.EnforceBudget)
        {
            return null;
        }

        if (holds is null)
        {
            throw new InvalidOperationException("EnforceBudget needs an IBudgetHoldClient (AddLlmCostTracking registers one).");
        }

        if (UserOf(chatOptions) is not { } userId)
        {
            logger?.LogWarning("No budget hold asked: no user id (set CostTrackingContext.ForUser or DefaultUserId)");
            return null;
        }

        var metadata = InnerClient.GetService<ChatClientMetadata>();
        var request = new BudgetHoldRequest(
            Guid.CreateVersion7().ToString("N"),
            userId,
            chatOptions?.ModelId ?? metadata?.DefaultModelId ?? "unknown",
            options.InputTokenEstimator.Estimate(messages, chatOptions),
            chatOptions?.MaxOutputTokens ?? options.DefaultMaxOutputTokens,
            options.ServiceTier,
            ProviderOf(metadata),
            options.HoldTtl is { } ttl ? (int)Math.Ceiling(ttl.TotalSeconds) : null);
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(options.HoldTimeout);
        try
        {
            var hold = await holds.HoldAsync(request, bound.Token);
            metrics?.Hold("granted");
            return hold.HoldId;
        }
        catch (BudgetExceededException)
        {
            metrics?.Hold("refused");
            throw;
        }
        catch (Exception ex) when (!ct.IsCancellationRequested && ex is OperationCanceledException or BudgetHoldUnavailableException)
        {
            if (!options.FailOpen)
            {
                metrics?.Hold("failed_closed");
                throw ex as BudgetHoldUnavailableException ?? new BudgetHoldUnavailableException($"No budget hold within {options.HoldTimeout.TotalMilliseconds} ms.", ex);
            }

            metrics?.Hold("failed_open");
            logger?.LogWarning(ex, "No budget hold for {UserId} within {Timeout}; the call goes ahead (fail open)", userId, options.HoldTimeout);
            return null;
        }
    }

    /// <summary>Releases a hold nothing will settle; a failure is only logged (the hold expires anyway).</summary>
    private async Task ReleaseAsync(string? holdId)
    {
        if (holdId is null || holds is null)
        {
            return;
        }

        try
        {
            using var bound = new CancellationTokenSource(options.HoldTimeout);
            await holds.ReleaseAsync(holdId, bound.Token);
        }
        catch (Exception ex)
        {
            logger?.LogWarning(ex, "Budget hold {HoldId} not released; it expires by itself", holdId);
        }
    }

    private static Dictionary<string, string> Layered(IEnumerable<KeyValuePair<string, string>> lower, IEnumerable<KeyValuePair<string, string>> upper)
    {
        var tags = new Dictionary<string, string>(lower, StringComparer.Ordinal);
        foreach (var (dimension, value) in upper)
        {
            tags[dimension] = value;
        }

        return tags;
    }

    private static string? ProviderOf(ChatClientMetadata? metadata) =>
        metadata?.ProviderName?.ToLowerInvariant() is { } provider && UsageValidator.IsProviderName(provider) ? provider : null;

    /// <summary>Tracks the usage (with the hold, which the worker settles when it counts it); false when nothing was
    /// tracked.</summary>
    private bool Record(UsageDetails? usage, string? modelId, string? responseId, ChatOptions? chatOptions, AdditionalPropertiesDictionary? properties, string? holdId)
    {
        try
        {
            if (usage is null)
            {
                return false;
            }

            var userId = UserOf(chatOptions);
            if (userId is null)
            {
                logger?.LogWarning("LLM usage not tracked: no user id (set CostTrackingContext.ForUser or DefaultUserId)");
                return false;
            }

            var model = modelId ?? chatOptions?.ModelId ?? InnerClient.GetService<ChatClientMetadata>()?.DefaultModelId ?? "unknown";
            var eventId = responseId is { Length: > 0 and <= UsageValidator.MaxIdLength } && UsageValidator.IsSafeId(responseId) ? responseId : null;
            var (input, cached, cacheWrite) = UsageTokens.Read(usage, options.InputTokensExcludeCache);
            var output = usage.OutputTokenCount ?? 0;
            var tier = ServiceTierKeys.Select(k => properties?.TryGetValue(k, out var v) == true ? v?.ToString() : null).FirstOrDefault(v => v is not null) ?? options.ServiceTier;
            var provider = ProviderOf(InnerClient.GetService<ChatClientMetadata>());
            return tracker.Track(new TrackedUsage(
                userId,
                model,
                input,
                output,
                cached,
                eventId,
                CacheWriteInputTokens: cacheWrite,
                ReasoningOutputTokens: Math.Min(usage.ReasoningTokenCount ?? 0, output),
                ServiceTier: tier is not null && ServiceTiers.Normalize(tier) is { } known && known != ServiceTiers.Standard ? known : null,
                Provider: provider,
                HoldId: holdId,
                // The ambient scopes are repeated above the options here, as the tracker puts the event's own tags
                // above its ambient ones: innermost wins, this pipeline's options below every scope.
                Tags: options.Tags.Count == 0 ? null : Layered(options.Tags, CostTrackingContext.CurrentTags)));
        }
        catch (Exception ex)
        {
            logger?.LogWarning(ex, "LLM usage not tracked");
            return false;
        }
    }
}
