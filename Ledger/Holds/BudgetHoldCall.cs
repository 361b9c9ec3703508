using LlmCostTracker.Contracts;
using LlmCostTracker.Ledger;
using StackExchange.Redis;

namespace LlmCostTracker.Ledger.Holds;

/// <summary>The arguments and replies of <c>Ledger/Scripts/budget-holds.lua</c>, the one place that knows their order.</summary>
public static class BudgetHoldCall
{
    public static readonly RedisScript Script = RedisScript.Load("budget-holds.lua");

    public const string Granted = "granted";
    public const string Existing = "existing";
    public const string Refused = "refused";
    public const string Released = "released";
    public const string Settled = "settled";
    public const string Unknown = "unknown";

    public readonly record struct Call(RedisKey[] Keys, RedisValue[] Args);

    /// <summary>What a grant found and did: the hold's amount, expiry and state, and the user's month as it stood
    /// (<see cref="HeldMicros"/> after a grant includes it).</summary>
    public sealed record HoldReply(string Outcome, long AmountMicros, DateTimeOffset ExpiresAt, string State, long SpentMicros, long HeldMicros, long BudgetMicros, bool Enforced);

    public static Call Hold(
        LedgerKeys keys, string userId, string month, string holdId, long amountMicros, DateTimeOffset expiresAt, long defaultBudgetMicros, bool defaultEnforce, DateTimeOffset now) =>
        new([keys.UserHolds(userId), keys.UserHoldData(userId), keys.UserMonth(userId, month), keys.UserBudget(userId), keys.UserEnforce(userId)],
            ["hold", now.ToUnixTimeMilliseconds(), LedgerKeys.HeldField, holdId, amountMicros, expiresAt.ToUnixTimeMilliseconds(), defaultBudgetMicros,
                defaultEnforce ? 1 : 0, LedgerKeys.Cost]);

    public static Call Release(LedgerKeys keys, string userId, string holdId, DateTimeOffset now) =>
        new([keys.UserHolds(userId), keys.UserHoldData(userId)], ["release", now.ToUnixTimeMilliseconds(), LedgerKeys.HeldField, holdId]);

    public static Call Peek(LedgerKeys keys, string userId, DateTimeOffset now) =>
        new([keys.UserHolds(userId), keys.UserHoldData(userId)], ["peek", now.ToUnixTimeMilliseconds(), LedgerKeys.HeldField]);

    public static HoldReply DecodeHold(RedisResult result)
    {
        var r = (RedisResult[])result!;
        return new HoldReply((string)r[0]!, (long)r[1], DateTimeOffset.FromUnixTimeMilliseconds((long)r[2]), (string)r[3]!, (long)r[4], (long)r[5], (long)r[6],
            (string)r[7]! == "1");
    }

    /// <summary>released, settled, or unknown (never granted, or expired), with the hold's amount.</summary>
    public static (string Outcome, long AmountMicros) DecodeRelease(RedisResult result)
    {
        var r = (RedisResult[])result!;
        return ((string)r[0]!, (long)r[1]);
    }

    public static long DecodePeek(RedisResult result) => (long)((RedisResult[])result!)[0];

    public static Task<RedisResult> RunAsync(IDatabaseAsync db, Call call) => db.ScriptEvaluateAsync(Script.Text, call.Keys, call.Args);
}
