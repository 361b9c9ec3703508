using LlmCostTracker.Ledger;
using LlmCostTracker.Contracts;
using StackExchange.Redis;

namespace LlmCostTracker.WorkerService.Budgets;

/// <summary>The arguments and reply of <c>Ledger/Scripts/reevaluate-budget.lua</c>.</summary>
public static class ReevaluateBudgetCall
{
    public static readonly RedisScript Script = RedisScript.Load("reevaluate-budget.lua");

    /// <summary>The budget and spend the script saw, and the thresholds it claimed for publishing.</summary>
    public sealed record Reply(long BudgetMicros, long SpentMicros, IReadOnlyList<int> Fired);

    public static (RedisKey[] Keys, RedisValue[] Args) Encode(
        LedgerKeys keys, string userId, LedgerMonth month, long defaultBudgetMicros, int[] thresholds, DateTimeOffset now)
    {
        RedisValue[] header = [month.ExpiresAt.ToUnixTimeSeconds(), defaultBudgetMicros, LedgerKeys.Cost, LedgerKeys.AlertPrefix, LedgerKeys.AlertPending,
            now.ToUnixTimeMilliseconds()];
        return ([keys.UserMonth(userId, month.Key), keys.UserBudget(userId), keys.UserThresholds(userId)], [.. header, .. thresholds.Select(t => (RedisValue)t)]);
    }

    public static Reply Decode(RedisResult result)
    {
        var reply = (RedisResult[])result!;
        return new Reply((long)reply[0], (long)reply[1], [.. reply.Skip(2).Select(t => (int)t)]);
    }
}
