using LlmCostTracker.CostTracking;
using Microsoft.Extensions.AI;

namespace LlmCostTracker.Tests.Unit;

/// <summary>The middleware reads every input token once, whichever convention the inner client followed (#31).</summary>
public sealed class UsageTokensTests
{
    public static TheoryData<string, long?, long?, string?, long, bool?, long, long, long> Cases => new()
    {
        // case, InputTokenCount, CachedInputTokenCount, additional count "key=value", ..., excludes cache; expected input, read, write
        { "OpenAI adapter: prompt tokens include the cached ones", 1_000, 200, null, 0, null, 1_000, 200, 0 },
        { "older OpenAI adapter: cached tokens in AdditionalCounts", 1_000, null, "InputTokenDetails.CachedTokenCount", 200, null, 1_000, 200, 0 },
        { "Anthropic SDK adapter: input is reads + writes + the rest", 50_000, 40_000, "CacheCreationInputTokens", 5_000, null, 50_000, 40_000, 5_000 },
        { "raw Anthropic counts (cache excluded): 5k + 40k read + 5k written is 50k", 5_000, 40_000, "cache_creation_input_tokens", 5_000, null, 50_000, 40_000, 5_000 },
        { "raw counts, cache smaller than input: only the option can tell", 50_000, 40_000, "cache_creation_input_tokens", 5_000, true, 95_000, 40_000, 5_000 },
        { "the option says inclusive though the counts disagree: the option wins", 5_000, 4_000, null, 0, false, 5_000, 4_000, 0 },
        { "OpenTelemetry attribute names", 3_000, null, "gen_ai.usage.cache_creation.input_tokens", 1_000, null, 3_000, 0, 1_000 },
        { "no input count, only cache reads", null, 700, null, 0, null, 700, 700, 0 },
        { "nothing cached", 1_234, null, null, 0, null, 1_234, 0, 0 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_input_token_is_read_once(string @case, long? input, long? cached, string? key, long count, bool? excludesCache, long expectedInput, long expectedRead, long expectedWrite)
    {
        var usage = new UsageDetails { InputTokenCount = input, CachedInputTokenCount = cached, OutputTokenCount = 10 };
        if (key is not null)
        {
            usage.AdditionalCounts = new AdditionalPropertiesDictionary<long> { [key] = count };
        }

        Assert.True((expectedInput, expectedRead, expectedWrite) == UsageTokens.Read(usage, excludesCache), @case);
    }
}
