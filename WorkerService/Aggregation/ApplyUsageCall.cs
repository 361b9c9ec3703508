using LlmCostTracker.WorkerService.Attribution;
using LlmCostTracker.Ledger;
using System.Collections.Concurrent;
using System.Globalization;
using LlmCostTracker.Contracts;
using LlmCostTracker.History.Rollups;
using LlmCostTracker.WorkerService.Chunks;
using StackExchange.Redis;

namespace LlmCostTracker.WorkerService.Aggregation;

/// <summary>The arguments and reply of <c>Ledger/Scripts/apply-usage.lua</c>, the one place that knows their order. Each
/// user's events are summed per model and day (a group) here, so the script adds one group where it would add many
/// events unless the user has a duplicate in the call.</summary>
public static class ApplyUsageCall
{
    public static readonly RedisScript Script = RedisScript.Load("apply-usage.lua", "apply-usage-claims.lua", "apply-usage-helpers.lua", "apply-usage-users.lua", "apply-usage-month.lua");

    /// <summary>A threshold the call crossed: <see cref="EventPosition"/> is the crossing event's position in the
    /// call (<see cref="LedgerChunk.EventOrder"/>), or null for an alert an earlier attempt claimed but did not
    /// publish, handed back by a redelivery.</summary>
    public readonly record struct Alert(int UserPosition, int ThresholdPercent, int? EventPosition, long SpentMicros, long BudgetMicros, DateTimeOffset? CrossedAt);

    /// <summary>The alerts, and the positions of the events already counted (0-based, in the call's order).</summary>
    public sealed record Reply(IReadOnlyList<Alert> Alerts, IReadOnlyList<int> DuplicatePositions);

    public readonly record struct Call(RedisKey[] Keys, RedisValue[] Args);

    private static readonly ConcurrentDictionary<string, string> ModelFields = new(StringComparer.Ordinal);
    private const int MaxCachedModelFields = 4_096;

    /// <summary>The call for <paramref name="chunk"/>, its events arriving at <paramref name="now"/>; with
    /// <paramref name="rollups"/> (history on) it also appends the events' daily rollup delta to the bucket's stream.</summary>
    public static Call Encode(
        LedgerKeys keys, LedgerChunk chunk, IReadOnlyList<PricedUsage> events, long defaultBudgetMicros, int[] thresholds, ClaimWindow claims, DateTimeOffset now,
        bool rollups = false)
    {
        // The call's tag sums, appended by the script to the bucket's tag delta list (a key more) when it counts a
        // fresh event; then the events' tag sets, read by the script only when the call has a duplicate.
        var tagDelta = TagDelta.Build(chunk, events, ModelFieldOf);
        var claimSets = claims.PeriodsChecked;
        var rollupDelta = rollups ? RollupDeltaOf(chunk, events) : null;
        var redisKeys = new RedisKey[2 + claimSets + chunk.Users.Count * 4 + (tagDelta is null ? 0 : 1) + (rollupDelta is null ? 0 : 1)];
        redisKeys[0] = keys.MonthTotals(chunk.Bucket, chunk.Month.Key);
        redisKeys[1] = keys.MonthUsers(chunk.Bucket, chunk.Month.Key);
        var period = claims.PeriodOf(now);
        for (var c = 0; c < claimSets; c++)
        {
            redisKeys[2 + c] = keys.Claims(chunk.Bucket, claims.KeyPart(period - c));
        }

        var k = 2 + claimSets;
        foreach (var (userId, _) in chunk.Users)
        {
            redisKeys[k++] = keys.UserMonth(userId, chunk.Month.Key);
            redisKeys[k++] = keys.UserBudget(userId);
            redisKeys[k++] = keys.UserHoldData(userId);
            redisKeys[k++] = keys.UserThresholds(userId);
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
        var args = new RedisValue[11 + counters + thresholds.Length + chunk.Users.Count * 4 + groups.Count * (2 + counters) + chunk.EventCount * 2 + holds * 2
            + 1 + (tagDelta is null ? 0 : 1) + 1];
        var a = 0;
        args[a++] = chunk.Month.ExpiresAt.ToUnixTimeSeconds();
        args[a++] = defaultBudgetMicros;
        args[a++] = claimSets;
        args[a++] = claims.ExpiresAt(period).ToUnixTimeSeconds();
        args[a++] = counters;
        foreach (var counter in LedgerKeys.Counters)
        {
            args[a++] = counter;
        }

        args[a++] = LedgerKeys.RequestsPosition;
        args[a++] = LedgerKeys.AlertPrefix;
        args[a++] = LedgerKeys.AlertPending;
        args[a++] = LedgerKeys.HeldField;
        args[a++] = thresholds.Length;
        foreach (var threshold in thresholds)
        {
            args[a++] = threshold;
        }

        args[a++] = chunk.Users.Count;
        n = 0;
        for (var u = 0; u < chunk.Users.Count; u++)
        {
            var (userId, indexes) = chunk.Users[u];
            args[a++] = userId;
            args[a++] = groupStart[u + 1] - groupStart[u];
            args[a++] = indexes.Count;
            args[a++] = indexes.Count(i => events[i].Usage.HoldId is not null);
            for (var g = groupStart[u]; g < groupStart[u + 1]; g++)
            {
                var group = groups[g];
                args[a++] = ModelFieldOf(group.Model);
                args[a++] = group.Day.DayField;
                args[a++] = group.Cost;
                args[a++] = group.Input;
                args[a++] = group.Cached;
                args[a++] = group.Output;
                args[a++] = group.Requests;
                args[a++] = group.CacheWrite;
                args[a++] = group.Reasoning;
            }

            foreach (var index in indexes)
            {
                var e = events[index];
                args[a++] = ClaimWindow.Digest(userId, e.Usage.EventId);
                // Packed in the order of LedgerKeys.Counters, then the event's group, time and id (the last two kept in
                // the alert state of a threshold it crosses).
                args[a++] = string.Create(CultureInfo.InvariantCulture,
                    $"{e.CostMicros},{e.Usage.InputTokens},{e.Usage.CachedInputTokens},{e.Usage.OutputTokens},1,{e.Usage.CacheWriteInputTokens},{e.Usage.ReasoningOutputTokens},{eventGroup[n++]},{e.Usage.OccurredAt.ToUnixTimeMilliseconds()},{e.Usage.EventId}");
            }

            for (var position = 0; position < indexes.Count; position++)
            {
                if (events[indexes[position]].Usage.HoldId is { } holdId)
                {
                    args[a++] = position + 1;
                    args[a++] = holdId;
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

    public static Reply Decode(RedisResult result)
    {
        var reply = (RedisResult[])result!;
        var alertCount = (int)reply[0];

        var alerts = new Alert[alertCount];
        var n = 1;
        for (var i = 0; i < alertCount; i++, n += 6)
        {
            var eventIndex = (int)reply[n + 2];
            var crossedAt = (long)reply[n + 5];
            alerts[i] = new Alert((int)reply[n] - 1, (int)reply[n + 1], eventIndex > 0 ? eventIndex - 1 : null, (long)reply[n + 3], (long)reply[n + 4],
                crossedAt > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(crossedAt) : null);
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
        var delta = new RollupDeltaBuilder();
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

    /// <summary>One user's events of one model and day in a call, summed.</summary>
    private sealed class Group(string model, CalendarDay day)
    {
        public string Model { get; } = model;

        public CalendarDay Day { get; } = day;

        public long Cost { get; private set; }

        public long Input { get; private set; }

        public long Cached { get; private set; }

        public long Output { get; private set; }

        public long Requests { get; private set; }

        public long CacheWrite { get; private set; }

        public long Reasoning { get; private set; }

        public bool Holds(string model, CalendarDay day) => Day.Date == day.Date && string.Equals(Model, model, StringComparison.Ordinal);

        public void Add(PricedUsage e)
        {
            Cost += e.CostMicros;
            Input += e.Usage.InputTokens;
            Cached += e.Usage.CachedInputTokens;
            Output += e.Usage.OutputTokens;
            Requests++;
            CacheWrite += e.Usage.CacheWriteInputTokens;
            Reasoning += e.Usage.ReasoningOutputTokens;
        }
    }
}
