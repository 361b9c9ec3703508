using LlmCostTracker.Contracts;
using LlmCostTracker.Contracts.Reporting;
using LlmCostTracker.Ledger;
using StackExchange.Redis;

namespace LlmCostTracker.ApiService.Budgets;

/// <summary>Monthly budgets of tag values (e.g. team <c>search</c>). The worker checks them after each write that
/// touches the value, so a change takes effect with the value's next usage.</summary>
public sealed class TagBudgetStore(IConnectionMultiplexer redis)
{
    public async Task<TagBudget> GetAsync(string dimension, string value)
    {
        RedisValue stored;
        using (RedisSpans.Start("GET"))
        {
            stored = await redis.GetDatabase().StringGetAsync(LedgerKeys.TagBudget(dimension, value));
        }

        return new TagBudget(dimension, value, stored.HasValue ? BudgetOptions.ToUsd((long)stored) : null);
    }

    public async Task<TagBudget> SetAsync(string dimension, string value, decimal monthlyBudgetUsd)
    {
        using (RedisSpans.Start("SET"))
        {
            await redis.GetDatabase().StringSetAsync(LedgerKeys.TagBudget(dimension, value), BudgetOptions.ToMicros(monthlyBudgetUsd));
        }

        return new TagBudget(dimension, value, monthlyBudgetUsd);
    }

    public async Task<TagBudget> DeleteAsync(string dimension, string value)
    {
        using (RedisSpans.Start("DEL"))
        {
            await redis.GetDatabase().KeyDeleteAsync(LedgerKeys.TagBudget(dimension, value));
        }

        return new TagBudget(dimension, value, null);
    }
}
