using LlmCostTracker.Contracts;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmCostTracker.WorkerService.Budgets;

/// <summary>The alert states kept in each user's month (<c>alert|{threshold}</c>): claimed pending by the write
/// that crossed them, marked sent once published, re-armed or fired when a budget changes.</summary>
public sealed class AlertStates(IConnectionMultiplexer redis, LedgerKeys keys, IOptions<BudgetOptions> budgets)
{
    /// <summary>Re-arms or fires a user's thresholds for a month after the budget changed.</summary>
    public async Task<IReadOnlyList<CrossedThreshold>> ReevaluateAsync(string userId, string month)
    {
        var options = budgets.Value;
        var (redisKeys, args) = ReevaluateBudgetCall.Encode(
            keys, userId, LedgerMonth.Parse(month), BudgetOptions.ToMicros(options.DefaultMonthlyBudgetUsd), options.ThresholdsPercent);
        using var span = WorkerMetrics.RedisSpan("EVALSHA", 1);
        var reply = ReevaluateBudgetCall.Decode(await redis.GetDatabase().ScriptEvaluateAsync(ReevaluateBudgetCall.Script.Text, redisKeys, args));
        return [.. reply.Fired.Select(t => new CrossedThreshold(userId, month, t, reply.SpentMicros, reply.BudgetMicros, EventIndex: null))];
    }

    /// <summary>Records when the user's spend crossed the whole budget (first record wins: a redelivery keeps the
    /// crossing's own time), so reports can say when it ran out rather than extrapolate.</summary>
    public async Task RecordExhaustedAsync(CrossedThreshold alert, DateTimeOffset at)
    {
        using var span = WorkerMetrics.RedisSpan("HSETNX", 1);
        await redis.GetDatabase().HashSetAsync(keys.UserMonth(alert.UserId, alert.Month), LedgerKeys.ExhaustedField(alert.BudgetMicros),
            at.ToUnixTimeMilliseconds(), When.NotExists);
    }

    /// <summary>Marks an alert published, so a later redelivery does not hand it back.</summary>
    public async Task MarkSentAsync(CrossedThreshold alert)
    {
        var (redisKeys, args) = MarkAlertSentCall.Encode(keys, alert);
        using var span = WorkerMetrics.RedisSpan("EVALSHA", 1);
        await redis.GetDatabase().ScriptEvaluateAsync(MarkAlertSentCall.Script.Text, redisKeys, args);
    }
}
