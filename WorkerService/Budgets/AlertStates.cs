using LlmCostTracker.Contracts;
using LlmCostTracker.Ledger;
using LlmCostTracker.Ledger.Budgets;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmCostTracker.WorkerService.Budgets;

/// <summary>The alert states kept in each user's month (<c>alert|{threshold}</c>): claimed pending by the write
/// that crossed them, marked sent once published, re-armed or fired when a budget changes.</summary>
public sealed class AlertStates(IConnectionMultiplexer redis, LedgerKeys keys, IOptions<BudgetOptions> budgets, TimeProvider clock)
{
    /// <summary>Re-arms or fires a user's thresholds for a month after the budget changed.</summary>
    public async Task<IReadOnlyList<CrossedThreshold>> ReevaluateAsync(string userId, string month)
    {
        var options = budgets.Value;
        var (redisKeys, args) = ReevaluateBudgetCall.Encode(
            keys, userId, UsageMonth.Parse(month), options.DefaultMonthlyBudgetMicros, options.ThresholdsPercent, clock.GetUtcNow());
        using var span = RedisSpans.Start("EVALSHA", 1);
        var reply = ReevaluateBudgetCall.Decode(await ReevaluateBudgetCall.Script.EvaluateAsync(redis.GetDatabase(), redisKeys, args));
        var now = clock.GetUtcNow();
        return [.. reply.Fired.Select(t => new CrossedThreshold(userId, month, t, reply.SpentMicros, reply.BudgetMicros, EventIndex: null, CrossedAt: now))];
    }

    /// <summary>Marks an alert published, so a later redelivery does not hand it back.</summary>
    public async Task MarkSentAsync(CrossedThreshold alert)
    {
        var (redisKeys, args) = MarkAlertSentCall.Encode(keys, alert.UserId, alert.Month, alert.ThresholdPercent);
        using var span = RedisSpans.Start("EVALSHA", 1);
        await MarkAlertSentCall.Script.EvaluateAsync(redis.GetDatabase(), redisKeys, args);
    }
}
