using LlmCostTracker.Ledger;
using System.Collections.Concurrent;
using System.Globalization;
using LlmCostTracker.Contracts;
using StackExchange.Redis;

namespace LlmCostTracker.WorkerService.Aggregation;

/// <summary>The arguments and reply of <c>Scripts/apply-usage.lua</c>, the one place that knows their order. Each
/// user's events are summed per model, day and tags (a group) here, so the script adds one group where it would add many
/// events unless the user has a duplicate in the call.</summary>
public static class ApplyUsageCall
{
    public static readonly RedisScript Script = RedisScript.Load(typeof(ApplyUsageCall).Assembly, "apply-usage.lua");

    /// <summary>A threshold the call crossed: <see cref="EventPosition"/> is the crossing event's position in the
    /// call (<see cref="LedgerChunk.EventOrder"/>), or null for an alert an earlier attempt claimed but did not
    /// publish, handed back by a redelivery.</summary>
    public readonly record struct Alert(int UserPosition, int ThresholdPercent, int? EventPosition, long SpentMicros, long BudgetMicros, DateTimeOffset? CrossedAt);

    /// <summary>The alerts, and the positions of the events already counted (0-based, in the call's order).</summary>
    public sealed record Reply(IReadOnlyList<Alert> Alerts, IReadOnlyList<int> DuplicatePositions);

    public readonly record struct Call(RedisKey[] Keys, RedisValue[] Args);

    private static readonly ConcurrentDictionary<string, string> ModelFields = new(StringComparer.Ordinal);
    private const int MaxCachedModelFields = 4_096;

    /// <summary>The call for <paramref name="chunk"/>, its events arriving at <paramref name="now"/>.</summary>
    public static Call Encode(
        LedgerKeys keys, LedgerChunk chunk, IReadOnlyList<PricedUsage> events, long defaultBudgetMicros, int[] thresholds, ClaimWindow claims, DateTimeOffset now)
    {
        // Groups of each user found by a linear scan (a user has a few), counted first so the arguments are one
        // exact array. A group is one model, day and set of tags: the script adds its sums to each of its tags.
        var tags = new CallTags();
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
                var tagSet = tags.SetOf(e.Usage.Tags);
                var g = first;
                while (g < groups.Count && !groups[g].Holds(e.Usage.Model, day, tagSet))
                {
                    g++;
                }

                if (g == groups.Count)
                {
                    groups.Add(new Group(e.Usage.Model, day, tagSet));
                }

                groups[g].Add(e);
                eventGroup[n++] = g - first + 1;
            }
        }

        groupStart[chunk.Users.Count] = groups.Count;
        var claimSets = claims.PeriodsChecked;
        var userKeys = 2 + claimSets;
        var redisKeys = new RedisKey[userKeys + chunk.Users.Count * 3 + tags.Dimensions.Count + tags.Values.Count * 2];
        redisKeys[0] = keys.MonthTotals(chunk.Bucket, chunk.Month.Key);
        redisKeys[1] = keys.MonthUsers(chunk.Bucket, chunk.Month.Key);
        var period = claims.PeriodOf(now);
        for (var c = 0; c < claimSets; c++)
        {
            redisKeys[2 + c] = keys.Claims(chunk.Bucket, claims.KeyPart(period - c));
        }

        var k = userKeys;
        foreach (var (userId, _) in chunk.Users)
        {
            redisKeys[k++] = keys.UserMonth(userId, chunk.Month.Key);
            redisKeys[k++] = keys.UserBudget(userId);
            redisKeys[k++] = keys.UserHoldData(userId);
        }

        var tagKeys = k;
        foreach (var dimension in tags.Dimensions)
        {
            redisKeys[k++] = keys.TagIndex(chunk.Bucket, dimension, chunk.Month.Key);
        }

        foreach (var (dimension, value, _) in tags.Values)
        {
            redisKeys[k++] = keys.TagValue(chunk.Bucket, dimension, chunk.Month.Key, value);
            redisKeys[k++] = keys.TagUsers(chunk.Bucket, dimension, chunk.Month.Key, value);
        }

        var counters = LedgerKeys.Counters.Length;
        var tagArgs = 2 + tags.Values.Count * 4 + tags.Sets.Sum(set => 1 + set.Length) + (tags.Sets.Count > 0 ? groups.Count : 0);
        var args = new RedisValue[11 + counters + thresholds.Length + chunk.Users.Count * 4 + groups.Count * (2 + counters) + chunk.EventCount * 2 + holds * 2 + tagArgs];
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

        // The tags (1-based KEYS positions of their dimension's index, hash and users; the value), the tag sets (a
        // size, then tag numbers), then each group's tag set (0: none), sent only when some group has tags.
        args[a++] = tags.Values.Count;
        var dimensionPosition = tags.Dimensions.Select((d, i) => (d, i)).ToDictionary(x => x.d, x => tagKeys + x.i + 1, StringComparer.Ordinal);
        for (var t = 0; t < tags.Values.Count; t++)
        {
            var (dimension, value, _) = tags.Values[t];
            args[a++] = dimensionPosition[dimension];
            args[a++] = tagKeys + tags.Dimensions.Count + t * 2 + 1;
            args[a++] = tagKeys + tags.Dimensions.Count + t * 2 + 2;
            args[a++] = value;
        }

        args[a++] = tags.Sets.Count;
        foreach (var set in tags.Sets)
        {
            args[a++] = set.Length;
            foreach (var tag in set)
            {
                args[a++] = tag;
            }
        }

        if (tags.Sets.Count > 0)
        {
            foreach (var group in groups)
            {
                args[a++] = group.TagSet;
            }
        }

        return new Call(redisKeys, args);
    }

    /// <summary>The tags of a call's events: each distinct (dimension, value) numbered from 1, each distinct set of
    /// them (an event's tags) numbered from 1 as the list of its tag numbers.</summary>
    private sealed class CallTags
    {
        private readonly Dictionary<string, int> _setNumbers = new(StringComparer.Ordinal);
        private readonly Dictionary<(string, string), int> _tagNumbers = [];

        public List<string> Dimensions { get; } = [];

        public List<(string Dimension, string Value, int Number)> Values { get; } = [];

        public List<int[]> Sets { get; } = [];

        /// <summary>The set number of an event's tags (0 for none).</summary>
        public int SetOf(IReadOnlyDictionary<string, string>? tags)
        {
            if (tags is not { Count: > 0 })
            {
                return 0;
            }

            var ordered = tags.OrderBy(t => t.Key, StringComparer.Ordinal).ToArray();
            var name = string.Join('\n', ordered.Select(t => $"{t.Key}={t.Value}"));
            if (_setNumbers.TryGetValue(name, out var number))
            {
                return number;
            }

            var set = new int[ordered.Length];
            for (var i = 0; i < ordered.Length; i++)
            {
                var (dimension, value) = ordered[i];
                if (!_tagNumbers.TryGetValue((dimension, value), out var tag))
                {
                    if (!Dimensions.Contains(dimension))
                    {
                        Dimensions.Add(dimension);
                    }

                    tag = _tagNumbers[(dimension, value)] = Values.Count + 1;
                    Values.Add((dimension, value, tag));
                }

                set[i] = tag;
            }

            Sets.Add(set);
            return _setNumbers[name] = Sets.Count;
        }
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
    private sealed class Group(string model, CalendarDay day, int tagSet)
    {
        public string Model { get; } = model;

        public CalendarDay Day { get; } = day;

        public int TagSet { get; } = tagSet;

        public long Cost { get; private set; }

        public long Input { get; private set; }

        public long Cached { get; private set; }

        public long Output { get; private set; }

        public long Requests { get; private set; }

        public long CacheWrite { get; private set; }

        public long Reasoning { get; private set; }

        public bool Holds(string model, CalendarDay day, int tagSet) =>
            Day.Date == day.Date && TagSet == tagSet && string.Equals(Model, model, StringComparison.Ordinal);

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
