using StackExchange.Redis;

namespace LlmCostTracker.Ledger.Holds;

/// <summary>The keys, arguments and replies of <c>Ledger/Scripts/budget-holds.lua</c>, each named once by the enums
/// below, which the script reads as Lua tables of the same names (<see cref="RedisScript.Naming"/>).</summary>
public static class BudgetHoldCall
{
    public static readonly RedisScript Script = RedisScript.Load("budget-holds.lua").Naming(
        typeof(HoldKey), typeof(HoldArg), typeof(HoldReplyAt), typeof(ReleaseReplyAt), typeof(PeekReplyAt));

    public const string Granted = "granted";
    public const string Existing = "existing";
    public const string Refused = "refused";
    public const string Released = "released";
    public const string Settled = "settled";
    public const string Unknown = "unknown";

    /// <summary>The script's keys; a release or a peek passes the first two.</summary>
    public enum HoldKey { Holds, Data, Month, Budget, Enforce }

    /// <summary>The script's arguments; a release passes those up to <see cref="HoldId"/>, a peek those up to
    /// <see cref="HeldField"/>.</summary>
    public enum HoldArg { Action, Now, HeldField, HoldId, Amount, ExpiresAt, DefaultBudget, DefaultEnforce, CostField }

    /// <summary>A grant's reply (granted, existing or refused).</summary>
    public enum HoldReplyAt { Outcome, Amount, ExpiresAt, State, Spent, Held, Budget, Enforce }

    /// <summary>A release's reply (released, settled or unknown).</summary>
    public enum ReleaseReplyAt { Outcome, Amount }

    public enum PeekReplyAt { Held }

    public readonly record struct Call(RedisKey[] Keys, RedisValue[] Args);

    /// <summary>What a grant found and did: the hold's amount, expiry and state, and the user's month as it stood
    /// (<see cref="HeldMicros"/> after a grant includes it).</summary>
    public sealed record HoldReply(string Outcome, long AmountMicros, DateTimeOffset ExpiresAt, string State, long SpentMicros, long HeldMicros, long BudgetMicros, bool Enforced);

    public static Call Hold(
        LedgerKeys keys, string userId, string month, string holdId, long amountMicros, DateTimeOffset expiresAt, long defaultBudgetMicros, bool defaultEnforce, DateTimeOffset now)
    {
        var (redisKeys, args) = Layout(keys, userId, "hold", now, HoldKey.Enforce, HoldArg.CostField);
        redisKeys[(int)HoldKey.Month] = keys.UserMonth(userId, month);
        redisKeys[(int)HoldKey.Budget] = keys.UserBudget(userId);
        redisKeys[(int)HoldKey.Enforce] = keys.UserEnforce(userId);
        args[(int)HoldArg.HoldId] = holdId;
        args[(int)HoldArg.Amount] = amountMicros;
        args[(int)HoldArg.ExpiresAt] = expiresAt.ToUnixTimeMilliseconds();
        args[(int)HoldArg.DefaultBudget] = defaultBudgetMicros;
        args[(int)HoldArg.DefaultEnforce] = defaultEnforce ? 1 : 0;
        args[(int)HoldArg.CostField] = LedgerKeys.Cost;
        return new Call(redisKeys, args);
    }

    public static Call Release(LedgerKeys keys, string userId, string holdId, DateTimeOffset now)
    {
        var (redisKeys, args) = Layout(keys, userId, "release", now, HoldKey.Data, HoldArg.HoldId);
        args[(int)HoldArg.HoldId] = holdId;
        return new Call(redisKeys, args);
    }

    public static Call Peek(LedgerKeys keys, string userId, DateTimeOffset now)
    {
        var (redisKeys, args) = Layout(keys, userId, "peek", now, HoldKey.Data, HoldArg.HeldField);
        return new Call(redisKeys, args);
    }

    public static HoldReply DecodeHold(RedisResult result)
    {
        var r = (RedisResult[])result!;
        return new HoldReply((string)r[(int)HoldReplyAt.Outcome]!, (long)r[(int)HoldReplyAt.Amount],
            DateTimeOffset.FromUnixTimeMilliseconds((long)r[(int)HoldReplyAt.ExpiresAt]), (string)r[(int)HoldReplyAt.State]!,
            (long)r[(int)HoldReplyAt.Spent], (long)r[(int)HoldReplyAt.Held], (long)r[(int)HoldReplyAt.Budget], (string)r[(int)HoldReplyAt.Enforce]! == "1");
    }

    /// <summary>released, settled, or unknown (never granted, or expired), with the hold's amount.</summary>
    public static (string Outcome, long AmountMicros) DecodeRelease(RedisResult result)
    {
        var r = (RedisResult[])result!;
        return ((string)r[(int)ReleaseReplyAt.Outcome]!, (long)r[(int)ReleaseReplyAt.Amount]);
    }

    public static long DecodePeek(RedisResult result) => (long)((RedisResult[])result!)[(int)PeekReplyAt.Held];

    public static Task<RedisResult> RunAsync(IDatabaseAsync db, Call call) => Script.EvaluateAsync(db, call.Keys, call.Args);

    /// <summary>The keys and arguments every action passes, sized up to <paramref name="lastKey"/> and <paramref name="lastArg"/>.</summary>
    private static (RedisKey[] Keys, RedisValue[] Args) Layout(LedgerKeys keys, string userId, string action, DateTimeOffset now, HoldKey lastKey, HoldArg lastArg)
    {
        var redisKeys = new RedisKey[(int)lastKey + 1];
        redisKeys[(int)HoldKey.Holds] = keys.UserHolds(userId);
        redisKeys[(int)HoldKey.Data] = keys.UserHoldData(userId);
        var args = new RedisValue[(int)lastArg + 1];
        args[(int)HoldArg.Action] = action;
        args[(int)HoldArg.Now] = now.ToUnixTimeMilliseconds();
        args[(int)HoldArg.HeldField] = LedgerKeys.HeldField;
        return (redisKeys, args);
    }
}
