using System.Collections.Concurrent;
using System.Globalization;
using LlmCostTracker.Contracts;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmCostTracker.WorkerService.Aggregation;

/// <summary>A priced usage event.</summary>
public sealed record PricedUsage(LlmUsage Usage, long CostMicros);

/// <summary>A threshold crossed by applying usage. <see cref="Usage"/> is the event that crossed it, or null when
/// a redelivery hands back an alert an earlier attempt claimed but did not publish.</summary>
public sealed record CrossedThreshold(string UserId, string Month, int ThresholdPercent, long SpentMicros, long BudgetMicros, LlmUsage? Usage);

/// <summary>What applying usage did. <see cref="Duplicate"/> has one flag per event passed in, set for the events
/// that were already counted (redelivered, re-posted, or repeated in the same call).</summary>
public sealed record LedgerResult(IReadOnlyList<CrossedThreshold> Alerts, bool[] Duplicate)
{
    public int Duplicates => Duplicate.Count(d => d);

    public int Applied => Duplicate.Length - Duplicates;
}

/// <summary>Aggregates priced usage per user per month in Redis, exactly once per event id: one script call per
/// month and 2,000 events applies every user's and the month's increments atomically; the calls are pipelined.</summary>
public sealed class CostLedger(IConnectionMultiplexer redis, IOptions<BudgetOptions> budgets)
{
    /// <summary>Keys live until 35 days after the end of their month, so last month stays readable all this month.</summary>
    public static readonly TimeSpan RetentionAfterMonthEnd = TimeSpan.FromDays(35);

    public static string MonthOf(DateTimeOffset at) => DayOf(at).Month;

    /// <summary>An event's UTC day: its month (<c>yyyy-MM</c>) and its day's hash field (<c>day|yyyy-MM-dd</c>),
    /// formatted once. The last one is kept: a write is mostly one day (a benign race: the record is immutable).</summary>
    private static CalendarDay DayOf(DateTimeOffset at)
    {
        var date = DateOnly.FromDateTime(at.UtcDateTime);
        var last = _lastDay;
        if (last is null || last.Date != date)
        {
            var text = date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            _lastDay = last = new CalendarDay(date, text[..7], LedgerKeys.DayField(text));
        }

        return last;
    }

    private sealed record CalendarDay(DateOnly Date, string Month, string DayField);

    private static CalendarDay? _lastDay;

    /// <summary>Model ids seen, with their hash field (<c>model|gpt-4o</c>), so a field name is not built per event.</summary>
    private static readonly ConcurrentDictionary<string, string> ModelFields = new(StringComparer.Ordinal);
    private const int MaxCachedModelFields = 4_096;

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

    public static DateTimeOffset ExpiresAt(DateTimeOffset at)
    {
        var utc = at.UtcDateTime;
        return new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1) + RetentionAfterMonthEnd;
    }

    /// <summary>The most events one script call takes: a call blocks Redis while it runs, so a large write is split
    /// rather than stalling readers (each event's claim makes any split safe).</summary>
    public const int ChunkEvents = 2_000;

    public async Task<LedgerResult> ApplyAsync(IReadOnlyList<PricedUsage> events)
    {
        var db = redis.GetDatabase();
        var options = budgets.Value;
        var defaultBudget = BudgetOptions.ToMicros(options.DefaultMonthlyBudgetUsd);

        // Each event's position, grouped by month, then by user in order of first appearance.
        var months = new Dictionary<string, Dictionary<string, List<int>>>(StringComparer.Ordinal);
        for (var i = 0; i < events.Count; i++)
        {
            var usage = events[i].Usage;
            var month = MonthOf(usage.OccurredAt);
            if (!months.TryGetValue(month, out var users))
            {
                months[month] = users = new Dictionary<string, List<int>>(StringComparer.Ordinal);
            }

            if (!users.TryGetValue(usage.UserId, out var indexes))
            {
                users[usage.UserId] = indexes = [];
            }

            indexes.Add(i);
        }

        // Chunks of at most ChunkEvents events; a user with more is split over several (claims make that safe).
        var chunks = new List<Chunk>();
        foreach (var (month, users) in months)
        {
            var chunk = new Chunk(month);
            foreach (var (userId, indexes) in users)
            {
                for (var from = 0; from < indexes.Count; from += ChunkEvents)
                {
                    var piece = indexes.GetRange(from, Math.Min(ChunkEvents, indexes.Count - from));
                    if (chunk.EventCount > 0 && chunk.EventCount + piece.Count > ChunkEvents)
                    {
                        chunks.Add(chunk);
                        chunk = new Chunk(month);
                    }

                    chunk.Users.Add((userId, piece));
                    chunk.EventCount += piece.Count;
                }
            }

            chunks.Add(chunk);
        }

        var calls = chunks.Select(c => ApplyChunkAsync(db, c, events, defaultBudget, options.ThresholdsPercent)).ToList();
        using (var span = WorkerMetrics.RedisSpan("EVALSHA", calls.Count))
        {
            span?.SetTag("llmcost.events", events.Count);
            await Task.WhenAll(calls);
        }

        var alerts = new List<CrossedThreshold>();
        var duplicate = new bool[events.Count];
        for (var c = 0; c < chunks.Count; c++)
        {
            var chunk = chunks[c];
            var order = chunk.Users.SelectMany(u => u.Indexes).ToArray();
            var reply = (RedisResult[])calls[c].Result!;
            var alertCount = (int)reply[0];
            var n = 1;
            for (var a = 0; a < alertCount; a++, n += 5)
            {
                var userId = chunk.Users[(int)reply[n] - 1].UserId;
                var index = (int)reply[n + 2];
                alerts.Add(new CrossedThreshold(userId, chunk.Month, (int)reply[n + 1], (long)reply[n + 3], (long)reply[n + 4],
                    index > 0 ? events[order[index - 1]].Usage : null));
            }

            for (; n < reply.Length; n++)
            {
                duplicate[order[(int)reply[n] - 1]] = true;
            }
        }

        return new LedgerResult(alerts, duplicate);
    }

    /// <summary>Re-arms or fires a user's thresholds for a month after the budget changed.</summary>
    public async Task<IReadOnlyList<CrossedThreshold>> ReevaluateBudgetAsync(string userId, string month)
    {
        var options = budgets.Value;
        var monthStart = DateTimeOffset.ParseExact(month + "-01", "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        var args = new List<RedisValue> { ExpiresAt(monthStart).ToUnixTimeSeconds(), BudgetOptions.ToMicros(options.DefaultMonthlyBudgetUsd) };
        args.AddRange(options.ThresholdsPercent.Select(t => (RedisValue)t));
        using var span = WorkerMetrics.RedisSpan("EVAL", 1);
        var reply = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(
            LedgerScripts.ReevaluateBudget,
            [LedgerKeys.UserMonth(userId, month), LedgerKeys.UserBudget(userId)],
            [.. args]))!;
        var budget = (long)reply[0];
        var spent = (long)reply[1];
        return [.. reply.Skip(2).Select(t => new CrossedThreshold(userId, month, (int)t, spent, budget, Usage: null))];
    }

    /// <summary>Marks an alert published, so a later redelivery does not hand it back.</summary>
    public async Task MarkAlertSentAsync(CrossedThreshold alert)
    {
        using var span = WorkerMetrics.RedisSpan("EVAL", 1);
        await redis.GetDatabase().ScriptEvaluateAsync(
            LedgerScripts.MarkAlertSent, [LedgerKeys.UserMonth(alert.UserId, alert.Month)], [LedgerKeys.AlertField(alert.ThresholdPercent)]);
    }

    private static Task<RedisResult> ApplyChunkAsync(
        IDatabase db, Chunk chunk, IReadOnlyList<PricedUsage> events, long defaultBudget, int[] thresholds)
    {
        var keys = new RedisKey[3 + chunk.Users.Count * 2];
        keys[0] = LedgerKeys.MonthTotals(chunk.Month);
        keys[1] = LedgerKeys.MonthUsers(chunk.Month);
        keys[2] = LedgerKeys.MonthEvents(chunk.Month);
        var k = 3;
        foreach (var (userId, _) in chunk.Users)
        {
            keys[k++] = LedgerKeys.UserMonth(userId, chunk.Month);
            keys[k++] = LedgerKeys.UserBudget(userId);
        }

        // Each user's events summed per model and day (the script uses the sums unless one is a duplicate); a
        // user has a few buckets, found by a linear scan. Counted first, so the arguments are one exact array.
        var buckets = new List<Bucket>();
        var bucketStart = new int[chunk.Users.Count + 1];
        var eventBucket = new int[chunk.EventCount];
        var n = 0;
        for (var u = 0; u < chunk.Users.Count; u++)
        {
            var first = bucketStart[u] = buckets.Count;
            foreach (var index in chunk.Users[u].Indexes)
            {
                var e = events[index];
                var day = DayOf(e.Usage.OccurredAt);
                var b = first;
                while (b < buckets.Count && !buckets[b].Holds(e.Usage.Model, day))
                {
                    b++;
                }

                if (b == buckets.Count)
                {
                    buckets.Add(new Bucket(e.Usage.Model, day));
                }

                buckets[b].Add(e);
                eventBucket[n++] = b - first + 1;
            }
        }

        bucketStart[chunk.Users.Count] = buckets.Count;
        var args = new RedisValue[4 + thresholds.Length + chunk.Users.Count * 3 + buckets.Count * 7 + chunk.EventCount * 2];
        var a = 0;
        args[a++] = ExpiresAt(events[chunk.Users[0].Indexes[0]].Usage.OccurredAt).ToUnixTimeSeconds();
        args[a++] = defaultBudget;
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
            args[a++] = bucketStart[u + 1] - bucketStart[u];
            args[a++] = indexes.Count;
            for (var b = bucketStart[u]; b < bucketStart[u + 1]; b++)
            {
                var bucket = buckets[b];
                args[a++] = ModelFieldOf(bucket.Model);
                args[a++] = bucket.Day.DayField;
                args[a++] = bucket.Cost;
                args[a++] = bucket.Input;
                args[a++] = bucket.Cached;
                args[a++] = bucket.Output;
                args[a++] = bucket.Requests;
            }

            foreach (var index in indexes)
            {
                var e = events[index];
                args[a++] = string.Concat(userId, "|", e.Usage.EventId);
                args[a++] = string.Create(CultureInfo.InvariantCulture,
                    $"{e.CostMicros},{e.Usage.InputTokens},{e.Usage.CachedInputTokens},{e.Usage.OutputTokens},{eventBucket[n++]}");
            }
        }

        return db.ScriptEvaluateAsync(LedgerScripts.ApplyUsage, keys, args);
    }

    /// <summary>One user's events of one model and day in a chunk, summed.</summary>
    private sealed class Bucket(string model, CalendarDay day)
    {
        public string Model { get; } = model;

        public CalendarDay Day { get; } = day;

        public long Cost { get; private set; }

        public long Input { get; private set; }

        public long Cached { get; private set; }

        public long Output { get; private set; }

        public long Requests { get; private set; }

        public bool Holds(string model, CalendarDay day) => Day.Date == day.Date && string.Equals(Model, model, StringComparison.Ordinal);

        public void Add(PricedUsage e)
        {
            Cost += e.CostMicros;
            Input += e.Usage.InputTokens;
            Cached += e.Usage.CachedInputTokens;
            Output += e.Usage.OutputTokens;
            Requests++;
        }
    }

    /// <summary>One script call's share of a write: one month, whole users (or pieces of a very busy one).</summary>
    private sealed class Chunk(string month)
    {
        public string Month { get; } = month;

        public List<(string UserId, List<int> Indexes)> Users { get; } = [];

        public int EventCount { get; set; }
    }
}
