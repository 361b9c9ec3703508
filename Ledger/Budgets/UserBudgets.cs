using LlmCostTracker.Contracts.Reporting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmCostTracker.Ledger.Budgets;

/// <summary>Per-user monthly budget overrides as stored: the amount, whether it is enforced and the user's own
/// thresholds, each falling back to the configured default (<c>Budgets:*</c>) where none is stored.</summary>
public sealed class UserBudgets(IConnectionMultiplexer redis, LedgerKeys keys, IOptions<BudgetOptions> budgets)
{
    public async Task<UserBudget> GetAsync(string userId)
    {
        var db = redis.GetDatabase();
        var value = db.StringGetAsync(keys.UserBudget(userId));
        var enforce = db.StringGetAsync(keys.UserEnforce(userId));
        var own = db.StringGetAsync(keys.UserThresholds(userId));
        using (RedisSpans.Start("GET", 3))
        {
            await Task.WhenAll(value, enforce, own);
        }

        var enforced = (await enforce).HasValue ? (await enforce) == "1" : budgets.Value.Enforce;
        var thresholds = BudgetOptions.ParseThresholds(await own) ?? budgets.Value.ThresholdsPercent;
        return (await value).HasValue
            ? new UserBudget(userId, BudgetOptions.ToUsd((long)await value), IsDefault: false, enforced, thresholds)
            : new UserBudget(userId, budgets.Value.DefaultMonthlyBudgetUsd, IsDefault: true, enforced, thresholds);
    }

    /// <summary>Stores the amount and, when given, the enforcement and the thresholds (left out: unchanged), in one
    /// transaction.</summary>
    public async Task SetAsync(string userId, decimal monthlyBudgetUsd, bool? enforce, int[]? thresholds)
    {
        var change = redis.GetDatabase().CreateTransaction();
        _ = change.StringSetAsync(keys.UserBudget(userId), BudgetOptions.ToMicros(monthlyBudgetUsd));
        if (enforce is { } on)
        {
            _ = change.StringSetAsync(keys.UserEnforce(userId), on ? "1" : "0");
        }

        if (thresholds is not null)
        {
            _ = change.StringSetAsync(keys.UserThresholds(userId), BudgetOptions.ThresholdsText(thresholds));
        }

        using (RedisSpans.Start("MULTI", 1 + (enforce is null ? 0 : 1) + (thresholds is null ? 0 : 1)))
        {
            await change.ExecuteAsync();
        }
    }

    /// <summary>Deletes the user's own settings: back to the defaults (<c>Budgets:DefaultMonthlyBudgetUsd</c>,
    /// <c>Budgets:Enforce</c> and the configured thresholds), which this returns.</summary>
    public async Task<UserBudget> ResetAsync(string userId)
    {
        using (RedisSpans.Start("DEL"))
        {
            await redis.GetDatabase().KeyDeleteAsync([keys.UserBudget(userId), keys.UserEnforce(userId), keys.UserThresholds(userId)]);
        }

        return new UserBudget(userId, budgets.Value.DefaultMonthlyBudgetUsd, IsDefault: true, budgets.Value.Enforce, budgets.Value.ThresholdsPercent);
    }
}
