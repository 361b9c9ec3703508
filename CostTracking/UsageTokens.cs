using Microsoft.Extensions.AI;

namespace LlmCostTracker.CostTracking;

/// <summary>A call's input, cache-read and cache-write token counts from its <see cref="UsageDetails"/>, whatever
/// convention the client that filled them followed, so that no token goes unbilled and none twice.</summary>
/// <remarks><see cref="UsageDetails.InputTokenCount"/> follows Microsoft.Extensions.AI's convention: every input
/// token, cache reads and writes included, as the OpenAI adapter (prompt_tokens) and the Anthropic SDK's adapter
/// (input_tokens + cache_read_input_tokens + cache_creation_input_tokens) report it. A client that reports the
/// provider's raw Anthropic-style count (cache reads and writes excluded) shows it when its cache counts exceed its
/// input; otherwise <see cref="CostTrackingChatOptions.InputTokensExcludeCache"/> says so.</remarks>
public static class UsageTokens
{
    /// <summary><see cref="UsageDetails.AdditionalCounts"/> keys read as cache writes, the first present: the
    /// OpenTelemetry attribute, Anthropic's usage field, and the Anthropic .NET SDK adapter's key.</summary>
    public static readonly string[] CacheWriteCountKeys = ["gen_ai.usage.cache_creation.input_tokens", "cache_creation_input_tokens", "CacheCreationInputTokens"];

    /// <summary><see cref="UsageDetails.AdditionalCounts"/> keys read as cache reads when
    /// <see cref="UsageDetails.CachedInputTokenCount"/> is not set: the OpenAI adapter's key before that property
    /// existed, the OpenTelemetry attribute, and Anthropic's usage field.</summary>
    public static readonly string[] CacheReadCountKeys = ["InputTokenDetails.CachedTokenCount", "gen_ai.usage.cache_read.input_tokens", "cache_read_input_tokens"];

    /// <param name="inputExcludesCache">true: the client reports input without cache reads and writes; false: with
    /// them; null: with them unless the cache counts exceed the input.</param>
    public static (long Input, long CacheRead, long CacheWrite) Read(UsageDetails usage, bool? inputExcludesCache = null)
    {
        var cacheRead = usage.CachedInputTokenCount ?? First(usage, CacheReadCountKeys) ?? 0;
        var cacheWrite = First(usage, CacheWriteCountKeys) ?? 0;
        var reported = usage.InputTokenCount ?? 0;
        var excludesCache = inputExcludesCache ?? cacheRead + cacheWrite > reported;
        return (excludesCache ? reported + cacheRead + cacheWrite : reported, cacheRead, cacheWrite);
    }

    private static long? First(UsageDetails usage, string[] keys)
    {
        if (usage.AdditionalCounts is not { Count: > 0 } counts)
        {
            return null;
        }

        foreach (var key in keys)
        {
            if (counts.TryGetValue(key, out var count))
            {
                return count;
            }
        }

        return null;
    }
}
