using LlmCostTracker.Ledger;
using LlmCostTracker.Contracts;
using StackExchange.Redis;

namespace LlmCostTracker.WorkerService.Budgets;

/// <summary>The arguments of <c>Ledger/Scripts/mark-alert-sent.lua</c> (its reply carries nothing).</summary>
public static class MarkAlertSentCall
{
    public static readonly RedisScript Script = RedisScript.Load("mark-alert-sent.lua");

    public static (RedisKey[] Keys, RedisValue[] Args) Encode(LedgerKeys keys, CrossedThreshold alert) =>
        ([keys.UserMonth(alert.UserId, alert.Month)], [LedgerKeys.AlertField(alert.ThresholdPercent), LedgerKeys.AlertPending, LedgerKeys.AlertSent]);
}
