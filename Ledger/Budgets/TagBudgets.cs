using LlmCostTracker.Contracts;
using LlmCostTracker.Contracts.Reporting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmCostTracker.Ledger.Budgets;

/// <summary>Monthly budgets of tag values (e.g. team <c>search</c>) and their own alert thresholds. The worker checks
/// them after each write that touches the value, so a change takes effect with the value's next usage.</summary>
public sealed class TagBudgets(IConnectionMultiplexer redis, IOptions<BudgetOptions> budgets)
{
    public async Task<TagBudget> GetAsync(string dimension, string value)
    {
        RedisValue[] stored;
        using (RedisSpans.Start("MGET"))
        {
            stored = await redis.GetDatabase().StringGetAsync([LedgerKeys.TagBudget(dimension, value), LedgerKeys.TagThresholds(dimension, value)]);
        }

        return new TagBudget(dimension, value, stored[0].HasValue ? BudgetOptions.ToUsd((long)stored[0]) : null,
            BudgetOptions.ParseThresholds(stored[1]) ?? budgets.Value.ThresholdsPercent);
    }

    /// <summary>Sets the amount and, when given, the thresholds (left out: unchanged).</summary>
    public async Task<TagBudget> SetAsync(string dimension, string value, decimal monthlyBudgetUsd, int[]? thresholds)
    {
        var db = redis.GetDatabase();
        var change = db.CreateTransaction();
        _ = change.StringSetAsync(LedgerKeys.TagBudget(dimension, value), BudgetOptions.ToMicros(monthlyBudgetUsd));
        if (thresholds is not null)
        {
            _ = change.StringSetAsync(LedgerKeys.TagThresholds(dimension, value), BudgetOptions.ThresholdsText(thresholds));
        }

        using (RedisSpans.Start("MULTI", thresholds is null ? 1 : 2))
        {
            await change.ExecuteAsync();
        }

        return await GetAsync(dimension, value);
    }

    public async Task<TagBudget> DeleteAsync(string dimension, string value)
    {
        using (RedisSpans.Start("DEL"))
        {
            await redis.GetDatabase().KeyDeleteAsync([LedgerKeys.TagBudget(dimension, value), LedgerKeys.TagThresholds(dimension, value)]);
        }

        return new TagBudget(dimension, value, null, budgets.Value.ThresholdsPercent);
    }
}
