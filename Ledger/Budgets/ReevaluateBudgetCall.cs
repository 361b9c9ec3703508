using LlmCostTracker.Contracts;
using StackExchange.Redis;

namespace LlmCostTracker.Ledger.Budgets;

/// <summary>The keys, arguments and reply of <c>Ledger/Scripts/reevaluate-budget.lua</c>, named once by the enums
/// below, which the script reads as Lua tables of the same names (<see cref="RedisScript.Naming"/>).</summary>
public static class ReevaluateBudgetCall
{
    public static readonly RedisScript Script = RedisScript.Load("reevaluate-budget.lua").Naming(
        typeof(ReevaluateKey), typeof(ReevaluateArg), typeof(ReevaluateReplyAt));

    public enum ReevaluateKey { UserMonth, Budget, OwnThresholds }

    /// <summary>The configured thresholds follow from <see cref="FirstThreshold"/> on.</summary>
    public enum ReevaluateArg { ExpireAt, DefaultBudget, CostField, AlertPrefix, PendingWord, Now, FirstThreshold }

    /// <summary>The thresholds claimed for publishing follow from <see cref="FirstFired"/> on.</summary>
    public enum ReevaluateReplyAt { Budget, Spent, FirstFired }

    /// <summary>The budget and spend the script saw, and the thresholds it claimed for publishing.</summary>
    public sealed record Reply(long BudgetMicros, long SpentMicros, IReadOnlyList<int> Fired);

    public static (RedisKey[] Keys, RedisValue[] Args) Encode(
        LedgerKeys keys, string userId, UsageMonth month, long defaultBudgetMicros, int[] thresholds, DateTimeOffset now)
    {
        var redisKeys = new RedisKey[Enum.GetValues<ReevaluateKey>().Length];
        redisKeys[(int)ReevaluateKey.UserMonth] = keys.UserMonth(userId, month.Key);
        redisKeys[(int)ReevaluateKey.Budget] = keys.UserBudget(userId);
        redisKeys[(int)ReevaluateKey.OwnThresholds] = keys.UserThresholds(userId);
        var args = new RedisValue[(int)ReevaluateArg.FirstThreshold + thresholds.Length];
        args[(int)ReevaluateArg.ExpireAt] = month.ExpiresAt.ToUnixTimeSeconds();
        args[(int)ReevaluateArg.DefaultBudget] = defaultBudgetMicros;
        args[(int)ReevaluateArg.CostField] = LedgerKeys.Cost;
        args[(int)ReevaluateArg.AlertPrefix] = LedgerKeys.AlertPrefix;
        args[(int)ReevaluateArg.PendingWord] = LedgerKeys.AlertPending;
        args[(int)ReevaluateArg.Now] = now.ToUnixTimeMilliseconds();
        for (var t = 0; t < thresholds.Length; t++)
        {
            args[(int)ReevaluateArg.FirstThreshold + t] = thresholds[t];
        }

        return (redisKeys, args);
    }

    public static Reply Decode(RedisResult result)
    {
        var reply = (RedisResult[])result!;
        return new Reply((long)reply[(int)ReevaluateReplyAt.Budget], (long)reply[(int)ReevaluateReplyAt.Spent],
            [.. reply.Skip((int)ReevaluateReplyAt.FirstFired).Select(t => (int)t)]);
    }
}
