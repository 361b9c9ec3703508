using LlmCostTracker.Ledger;

namespace LlmCostTracker.WorkerService.Aggregation;

/// <summary>The order of apply-usage's keys, arguments and reply, each named once: the enums are prepended to the script
/// as Lua tables (<see cref="RedisScript.Naming"/>), so the script reads <c>ARGV[UsageArg.UserCount]</c> where
/// <see cref="Encode"/> writes <c>args[(int)UsageArg.UserCount]</c>.</summary>
public static partial class ApplyUsageCall
{
    /// <summary>The call's first keys; the claim sets of the dedup window follow from <see cref="FirstClaimSet"/> (the
    /// current period's first), then a <see cref="UserKey"/> record per user, then the bucket's tag delta list when the
    /// call has a tag delta, then its rollup stream when it has a rollup delta.</summary>
    public enum UsageKey { MonthTotals, MonthUsers, FirstClaimSet }

    /// <summary>A user's keys, in the order of the call's users.</summary>
    public enum UserKey { Month, Budget, HoldData, Thresholds }

    /// <summary>The call's header. After it, in order: the counter field names (<see cref="LedgerKeys.Counters"/>),
    /// the default thresholds, a <see cref="UserArg"/> record per user followed by its <see cref="GroupArg"/>,
    /// <see cref="EventArg"/> and <see cref="HoldRef"/> records; then the tag delta (empty without tags), the events'
    /// tag sets (only with a tag delta), and the rollup delta (empty with history off).</summary>
    public enum UsageArg
    {
        ExpireAt, DefaultBudget, ClaimSetCount, ClaimsExpireAt, ClaimForms, RequestsAt, AlertPrefix, PendingWord, HeldField, CounterCount,
        ThresholdCount, UserCount, ValuesOmitted,
    }

    public enum UserArg { Id, GroupCount, EventCount, HoldCount }

    /// <summary>A user's events of one model and day, summed: the model and day fields, then one value a counter from
    /// <see cref="FirstCounter"/>.</summary>
    public enum GroupArg { Model, Day, FirstCounter }

    /// <summary>An event: its claim (<see cref="ClaimWindow.Digest"/>; with <see cref="UsageArg.ClaimForms"/> 2, both
    /// forms, <see cref="ClaimWindow.BothForms"/>) and its counters, group, time and id packed
    /// (<c>c1,...,cN,group,occurredAt,eventId</c>); with <see cref="UsageArg.ValuesOmitted"/>, its claim alone.</summary>
    public enum EventArg { Claim, Packed }

    /// <summary>An event carrying a budget hold: its position among its user's events (1-based) and the hold's id.</summary>
    public enum HoldRef { Position, HoldId }

    /// <summary>An alert in the reply, after the alert count; the positions of the events already counted follow the
    /// last.</summary>
    public enum AlertField { User, Threshold, Event, Spent, Budget, CrossedAt }
}
