using LlmCostTracker.WorkerService.Attribution;
using LlmCostTracker.Ledger;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Unicode;
using LlmCostTracker.Contracts;
using LlmCostTracker.History.Rollups;
using LlmCostTracker.WorkerService.Chunks;
using StackExchange.Redis;

namespace LlmCostTracker.WorkerService.Aggregation;

/// <summary>The arguments and reply of <c>Ledger/Scripts/apply-usage.lua</c>, their order named once in
/// <c>ApplyUsageCall.Layout.cs</c>. Each user's events are summed per model and day (a group) here, so the script adds
/// one group where it would add many events unless the user has a duplicate in the call.</summary>
public static partial class ApplyUsageCall
{
    public static readonly RedisScript Script = RedisScript.Load("apply-usage.lua", "apply-usage-claims.lua", "apply-usage-helpers.lua", "apply-usage-users.lua", "apply-usage-month.lua")
        .Naming(typeof(UsageKey), typeof(UserKey), typeof(UsageArg), typeof(UserArg), typeof(GroupArg), typeof(EventArg), typeof(HoldRef), typeof(AlertField));

    private static readonly int UsageKeys = Enum.GetValues<UsageKey>().Length - 1;
    private static readonly int UserKeys = Enum.GetValues<UserKey>().Length;
    private static readonly int Header = Enum.GetValues<UsageArg>().Length;
    private static readonly int UserArgs = Enum.GetValues<UserArg>().Length;
    private static readonly int GroupArgs = (int)GroupArg.FirstCounter + LedgerKeys.Counters.Length;
    private static readonly int EventArgs = Enum.GetValues<EventArg>().Length;
    private static readonly int HoldArgs = Enum.GetValues<HoldRef>().Length;
    private static readonly int AlertFields = Enum.GetValues<AlertField>().Length;

    /// <summary>A threshold the call crossed: <see cref="EventPosition"/> is the crossing event's position in the
    /// call (<see cref="LedgerChunk.EventOrder"/>), or null for an alert an earlier attempt claimed but did not
    /// publish, handed back by a redelivery.</summary>
    public readonly record struct Alert(int UserPosition, int ThresholdPercent, int? EventPosition, long SpentMicros, long BudgetMicros, DateTimeOffset? CrossedAt);

    /// <summary>The alerts, and the positions of the events already counted (0-based, in the call's order).</summary>
    public sealed record Reply(IReadOnlyList<Alert> Alerts, IReadOnlyList<int> DuplicatePositions);

    public readonly record struct Call(RedisKey[] Keys, RedisValue[] Args);

    /// <summary>An event's packed values at most: nine numbers of up to 20 characters, commas, and an event id of at most
    /// <see cref="UsageValidator.MaxIdLength"/> ASCII characters (OTLP's are shorter).</summary>
    private const int PackedBytes = 512;

    private static readonly ConcurrentDictionary<string, string> ModelFields = new(StringComparer.Ordinal);
    private const int MaxCachedModelFields = 4_096;

    /// <summary>The call for <paramref name="chunk"/>, its events arriving at <paramref name="now"/>; with
    /// <paramref name="rollups"/> (history on) it also appends the events' daily rollup delta to the bucket's stream.
    /// Without <paramref name="withValues"/> each event goes with its claim only: the script reads an event's values
    /// only for a user with a duplicate in the call or a threshold to cross, and answers <see cref="NeedsValues"/> for
    /// such a call, having changed nothing. Most calls have neither, and the values were a large share of what Redis
    /// parsed (docs/benchmarks-history.md, stop 61).</summary>
    public static Call Encode(
        LedgerKeys keys, LedgerChunk chunk, IReadOnlyList<PricedUsage> events, long defaultBudgetMicros, int[] thresholds, ClaimWindow claims, DateTimeOffset now,
        bool rollups = false, bool withValues = true)
    {
        // The call's tag sums, appended by the script to the bucket's tag delta list (a key more) when it counts a
        // fresh event; then the events' tag sets, read by the script only when the call has a duplicate.
        var tagDelta = TagDelta.Build(chunk, events, ModelFieldOf);
        var claimSets = claims.PeriodsChecked;
        var rollupDelta = rollups ? RollupDeltaOf(chunk, events) : null;
        var redisKeys = new RedisKey[UsageKeys + claimSets + chunk.Users.Count * UserKeys + (tagDelta is null ? 0 : 1) + (rollupDelta is null ? 0 : 1)];
        redisKeys[(int)UsageKey.MonthTotals] = keys.MonthTotals(chunk.Bucket, chunk.Month.Key);
        redisKeys[(int)UsageKey.MonthUsers] = keys.MonthUsers(chunk.Bucket, chunk.Month.Key);
        var period = claims.PeriodOf(now);
        for (var c = 0; c < claimSets; c++)
        {
            redisKeys[(int)UsageKey.FirstClaimSet + c] = keys.Claims(chunk.Bucket, claims.KeyPart(period - c));
        }

        var k = UsageKeys + claimSets;
        foreach (var (userId, _) in chunk.Users)
        {
            redisKeys[k + (int)UserKey.Month] = keys.UserMonth(userId, chunk.Month.Key);
            redisKeys[k + (int)UserKey.Budget] = keys.UserBudget(userId);
            redisKeys[k + (int)UserKey.HoldData] = keys.UserHoldData(userId);
            redisKeys[k + (int)UserKey.Thresholds] = keys.UserThresholds(userId);
            k += UserKeys;
        }

        if (tagDelta is not null)
        {
            redisKeys[k++] = keys.TagDeltas(chunk.Bucket);
        }

        if (rollupDelta is not null)
        {
            redisKeys[k] = keys.RollupStream(chunk.Bucket);
        }

        // Groups of each user found by a linear scan (a user has a few), counted first so the arguments are one
        // exact array.
        var groups = new List<Group>();
        var groupStart = new int[chunk.Users.Count + 1];
        var eventGroup = new int[chunk.EventCount];
        var holds = 0;
        var holdsOf = new int[chunk.Users.Count];
        var n = 0;
        for (var u = 0; u < chunk.Users.Count; u++)
        {
            var first = groupStart[u] = groups.Count;
            foreach (var index in chunk.Users[u].Indexes)
            {
                var e = events[index];
                if (e.Usage.HoldId is not null)
                {
                    holds++;
                    holdsOf[u]++;
                }

                var day = LedgerCalendar.DayOf(e.Usage.OccurredAt);
                var g = first;
                while (g < groups.Count && !groups[g].Holds(e.Usage.Model, day))
                {
                    g++;
                }

                if (g == groups.Count)
                {
                    groups.Add(new Group(e.Usage.Model, day));
                }

                groups[g].Add(e);
                eventGroup[n++] = g - first + 1;
            }
        }

        groupStart[chunk.Users.Count] = groups.Count;
        var counters = LedgerKeys.Counters.Length;
        // Without the values an event's record is its claim alone (an empty value was still parsed and put in ARGV).
        var eventArgs = withValues ? EventArgs : 1;
        var args = new RedisValue[Header + counters + thresholds.Length + chunk.Users.Count * UserArgs + groups.Count * GroupArgs + chunk.EventCount * eventArgs
            + holds * HoldArgs + 1 + (tagDelta is null ? 0 : 1) + 1];
        args[(int)UsageArg.ExpireAt] = chunk.Month.ExpiresAt.ToUnixTimeSeconds();
        args[(int)UsageArg.DefaultBudget] = defaultBudgetMicros;
        args[(int)UsageArg.ClaimSetCount] = claimSets;
        args[(int)UsageArg.ClaimsExpireAt] = claims.ExpiresAt(period).ToUnixTimeSeconds();
        args[(int)UsageArg.ClaimForms] = claims.BothFormsAt(now) ? 2 : 1;
        args[(int)UsageArg.RequestsAt] = LedgerKeys.RequestsPosition;
        args[(int)UsageArg.AlertPrefix] = LedgerKeys.AlertPrefix;
        args[(int)UsageArg.PendingWord] = LedgerKeys.AlertPending;
        args[(int)UsageArg.HeldField] = LedgerKeys.HeldField;
        args[(int)UsageArg.CounterCount] = counters;
        args[(int)UsageArg.ThresholdCount] = thresholds.Length;
        args[(int)UsageArg.UserCount] = chunk.Users.Count;
        args[(int)UsageArg.ValuesOmitted] = withValues ? 0 : 1;
        var a = Header;
        foreach (var counter in LedgerKeys.Counters)
        {
            args[a++] = counter;
        }

        foreach (var threshold in thresholds)
        {
            args[a++] = threshold;
        }

        n = 0;
        Span<byte> packed = stackalloc byte[PackedBytes];
        for (var u = 0; u < chunk.Users.Count; u++)
        {
            var (userId, indexes) = chunk.Users[u];
            args[a + (int)UserArg.Id] = userId;
            args[a + (int)UserArg.GroupCount] = groupStart[u + 1] - groupStart[u];
            args[a + (int)UserArg.EventCount] = indexes.Count;
            args[a + (int)UserArg.HoldCount] = holdsOf[u];
            a += UserArgs;
            for (var g = groupStart[u]; g < groupStart[u + 1]; g++)
            {
                var group = groups[g];
                args[a + (int)GroupArg.Model] = ModelFieldOf(group.Model);
                args[a + (int)GroupArg.Day] = group.Day.DayField;
                // One value a counter, in the order of LedgerKeys.Counters.
                var c = a + (int)GroupArg.FirstCounter;
                args[c++] = group.Cost;
                args[c++] = group.Input;
                args[c++] = group.Cached;
                args[c++] = group.Output;
                args[c++] = group.Requests;
                args[c++] = group.CacheWrite;
                args[c] = group.Reasoning;
                a += GroupArgs;
            }

            foreach (var index in indexes)
            {
                var e = events[index];
                args[a + (int)EventArg.Claim] = claims.Claim(userId, e.Usage.EventId, now);
                if (withValues)
                {
                    args[a + (int)EventArg.Packed] = Pack(e, eventGroup[n], packed);
                }

                a += eventArgs;
                n++;
            }

            for (var position = 0; position < indexes.Count; position++)
            {
                if (events[indexes[position]].Usage.HoldId is { } holdId)
                {
                    args[a + (int)HoldRef.Position] = position + 1;
                    args[a + (int)HoldRef.HoldId] = holdId;
                    a += HoldArgs;
                }
            }
        }

        if (tagDelta is { } delta)
        {
            args[a++] = delta.Json;
            // One argument, not one an event: the script splits it only when the call has a duplicate.
            args[a++] = string.Join(',', delta.EventSets);
        }
        else
        {
            args[a++] = RedisValue.EmptyString;
        }

        args[a] = rollupDelta is null ? RedisValue.EmptyString : (RedisValue)rollupDelta;
        return new Call(redisKeys, args);
    }

    /// <summary>An event's values packed in the order of LedgerKeys.Counters, then its group, time and id (the last two
    /// kept in the alert state of a threshold it crosses). Written as UTF-8, as Redis takes it: a string here was twice
    /// the bytes, and transcoded again when the call was written.</summary>
    private static byte[] Pack(PricedUsage e, int group, Span<byte> buffer)
    {
        if (!Utf8.TryWrite(buffer, CultureInfo.InvariantCulture,
            $"{e.CostMicros},{e.Usage.InputTokens},{e.Usage.CachedInputTokens},{e.Usage.OutputTokens},1,{e.Usage.CacheWriteInputTokens},{e.Usage.ReasoningOutputTokens},{group},{e.Usage.OccurredAt.ToUnixTimeMilliseconds()},{e.Usage.EventId}",
            out var written))
        {
            throw new InvalidOperationException($"Event {e.Usage.EventId} does not pack into {PackedBytes} bytes.");
        }

        return buffer[..written].ToArray();
    }

    /// <summary>The reply of a call sent without its events' values that needs them: nothing was changed, and the
    /// call is to be sent again with them.</summary>
    public static bool NeedsValues(RedisResult result) => (RedisResult[])result! is [var only] && (int)only == -1;

    public static Reply Decode(RedisResult result)
    {
        var reply = (RedisResult[])result!;
        var alertCount = (int)reply[0];

        var alerts = new Alert[alertCount];
        var n = 1;
        for (var i = 0; i < alertCount; i++, n += AlertFields)
        {
            var eventIndex = (int)reply[n + (int)AlertField.Event];
            var crossedAt = (long)reply[n + (int)AlertField.CrossedAt];
            alerts[i] = new Alert((int)reply[n + (int)AlertField.User] - 1, (int)reply[n + (int)AlertField.Threshold], eventIndex > 0 ? eventIndex - 1 : null,
                (long)reply[n + (int)AlertField.Spent], (long)reply[n + (int)AlertField.Budget], crossedAt > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(crossedAt) : null);
        }

        var duplicates = new int[reply.Length - n];
        for (var d = 0; d < duplicates.Length; d++)
        {
            duplicates[d] = (int)reply[n + d] - 1;
        }

        return new Reply(alerts, duplicates);
    }

    /// <summary>The chunk's events, in the call's order, summed into daily rollup rows (the script adds the delta with
    /// the events it found already counted beside it, for the writer to take out).</summary>
    private static byte[] RollupDeltaOf(LedgerChunk chunk, IReadOnlyList<PricedUsage> events)
    {
        var delta = new RollupDeltaBuilder(chunk.EventCount);
        foreach (var (_, indexes) in chunk.Users)
        {
            foreach (var index in indexes)
            {
                var e = events[index];
                delta.Add(e.Usage, e.CostMicros, e.Provider, e.ServiceTier, e.ContextBand);
            }
        }

        return delta.Encode();
    }

    /// <summary>Model ids seen, with their hash field (<c>model|gpt-4o</c>), so a field name is not built per event.</summary>
    private static string ModelFieldOf(string model)
    {
        if (ModelFields.TryGetValue(model, out var field))
        {
            return field;
        }

        field = LedgerKeys.ModelField(model);
        if (ModelFields.Count < MaxCachedModelFields)
        {
            ModelFields.TryAdd(model, field);
        }

        return field;
    }
}
