using StackExchange.Redis;

namespace LlmCostTracker.Ledger.Budgets;

/// <summary>The keys and arguments of <c>Ledger/Scripts/mark-alert-sent.lua</c> (its reply carries nothing), named
/// once by the enums below, which the script reads as Lua tables of the same names (<see cref="RedisScript.Naming"/>).</summary>
public static class MarkAlertSentCall
{
    public static readonly RedisScript Script = RedisScript.Load("mark-alert-sent.lua").Naming(typeof(MarkKey), typeof(MarkArg));

    public enum MarkKey { UserMonth }

    public enum MarkArg { AlertField, PendingWord, SentWord }

    /// <summary>Marks the alert of <paramref name="thresholdPercent"/> in <paramref name="userId"/>'s
    /// <paramref name="month"/> sent, once it is published.</summary>
    public static (RedisKey[] Keys, RedisValue[] Args) Encode(LedgerKeys keys, string userId, string month, int thresholdPercent)
    {
        var redisKeys = new RedisKey[Enum.GetValues<MarkKey>().Length];
        redisKeys[(int)MarkKey.UserMonth] = keys.UserMonth(userId, month);
        var args = new RedisValue[Enum.GetValues<MarkArg>().Length];
        args[(int)MarkArg.AlertField] = LedgerKeys.AlertField(thresholdPercent);
        args[(int)MarkArg.PendingWord] = LedgerKeys.AlertPending;
        args[(int)MarkArg.SentWord] = LedgerKeys.AlertSent;
        return (redisKeys, args);
    }
}
