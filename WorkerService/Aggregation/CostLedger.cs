using System.Diagnostics;
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
public sealed record LedgerResult(int Applied, int Duplicates, IReadOnlyList<CrossedThreshold> Alerts, bool[] Duplicate);

/// <summary>Aggregates priced usage per user per month in Redis, exactly once per event id, with one script call
/// per user-month (the user's slot) and one per month and 5,000 events (the month-wide slot), all pipelined.</summary>
public sealed class CostLedger(IConnectionMultiplexer redis, IOptions<BudgetOptions> budgets)
{
    /// <summary>Keys live until 35 days after the end of their month, so last month stays readable all this month.</summary>
    public static readonly TimeSpan RetentionAfterMonthEnd = TimeSpan.FromDays(35);

    public static string MonthOf(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM", CultureInfo.InvariantCulture);

    /// <summary>The UTC day, <c>yyyy-MM-dd</c>. The last one formatted is kept: a batch is mostly one day.</summary>
    public static string DayOf(DateTimeOffset at)
    {
        var day = DateOnly.FromDateTime(at.UtcDateTime);
        var last = _lastDay;
        if (last is null || last.Day != day)
        {
            _lastDay = last = new FormattedDay(day, day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        }

        return last.Text;
    }

    private sealed record FormattedDay(DateOnly Day, string Text);

    private static FormattedDay? _lastDay;

    public static DateTimeOffset ExpiresAt(DateTimeOffset at)
    {
        var utc = at.UtcDateTime;
        return new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1) + RetentionAfterMonthEnd;
    }

    /// <summary>The most events one month-wide script call takes: a call blocks Redis while it runs, so a large
    /// batch is split rather than stalling readers (each event's claim makes any split safe).</summary>
    public const int MonthChunk = 5_000;

    public async Task<LedgerResult> ApplyAsync(IReadOnlyList<PricedUsage> events)
    {
        var db = redis.GetDatabase();
        var options = budgets.Value;
        var defaultBudget = BudgetOptions.ToMicros(options.DefaultMonthlyBudgetUsd);

        // Grouped by user-month keeping each event's position, so the replies map back to the caller's events.
        var groups = new Dictionary<(string UserId, string Month), List<int>>();
        var months = new Dictionary<string, List<PricedUsage>>(StringComparer.Ordinal);
        for (var i = 0; i < events.Count; i++)
        {
            var usage = events[i].Usage;
            var month = MonthOf(usage.OccurredAt);
            if (!groups.TryGetValue((usage.UserId, month), out var indexes))
            {
                groups[(usage.UserId, month)] = indexes = [];
            }

            indexes.Add(i);
            if (!months.TryGetValue(month, out var monthEvents))
            {
                months[month] = monthEvents = [];
            }

            monthEvents.Add(events[i]);
        }

        var userCalls = new List<(string UserId, string Month, List<int> Indexes, Task<RedisResult> Call)>(groups.Count);
        foreach (var ((userId, month), indexes) in groups)
        {
            userCalls.Add((userId, month, indexes, ApplyUserAsync(db, userId, month, events, indexes, defaultBudget, options.ThresholdsPercent)));
        }

        var monthCalls = new List<Task<RedisResult>>();
        foreach (var (month, monthEvents) in months)
        {
            for (var from = 0; from < monthEvents.Count; from += MonthChunk)
            {
                monthCalls.Add(ApplyMonthAsync(db, month, monthEvents, from, Math.Min(MonthChunk, monthEvents.Count - from)));
            }
        }

        using (var span = RedisSpan("EVALSHA", userCalls.Count + monthCalls.Count))
        {
            span?.SetTag("llmcost.events", events.Count);
            await Task.WhenAll(userCalls.Select(c => c.Call).Concat(monthCalls));
        }

        int applied = 0, duplicates = 0;
        var alerts = new List<CrossedThreshold>();
        var duplicate = new bool[events.Count];
        foreach (var (userId, month, indexes, call) in userCalls)
        {
            var reply = (RedisResult[])call.Result!;
            applied += (int)reply[0];
            duplicates += (int)reply[1];
            var budget = (long)reply[2];
            var alertCount = (int)reply[3];
            var n = 4;
            for (var a = 0; a < alertCount; a++, n += 3)
            {
                var index = (int)reply[n + 1];
                alerts.Add(new CrossedThreshold(userId, month, (int)reply[n], (long)reply[n + 2], budget, index > 0 ? events[indexes[index - 1]].Usage : null));
            }

            for (; n < reply.Length; n++)
            {
                duplicate[indexes[(int)reply[n] - 1]] = true;
            }
        }

        return new LedgerResult(applied, duplicates, alerts, duplicate);
    }

    /// <summary>Re-arms or fires a user's thresholds for a month after the budget changed.</summary>
    public async Task<IReadOnlyList<CrossedThreshold>> ReevaluateBudgetAsync(string userId, string month)
    {
        var options = budgets.Value;
        var monthStart = DateTimeOffset.ParseExact(month + "-01", "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        var args = new List<RedisValue> { ExpiresAt(monthStart).ToUnixTimeSeconds(), BudgetOptions.ToMicros(options.DefaultMonthlyBudgetUsd) };
        args.AddRange(options.ThresholdsPercent.Select(t => (RedisValue)t));
        using var span = RedisSpan("EVAL", 1);
        var reply = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(
            LedgerScripts.ReevaluateBudget,
            [LedgerKeys.UserTotals(userId, month), LedgerKeys.UserAlerts(userId, month), LedgerKeys.UserBudget(userId)],
            [.. args]))!;
        var budget = (long)reply[0];
        var spent = (long)reply[1];
        return [.. reply.Skip(2).Select(t => new CrossedThreshold(userId, month, (int)t, spent, budget, Usage: null))];
    }

    /// <summary>Marks an alert published, so a later redelivery does not hand it back.</summary>
    public async Task MarkAlertSentAsync(CrossedThreshold alert)
    {
        using var span = RedisSpan("EVAL", 1);
        await redis.GetDatabase().ScriptEvaluateAsync(
            "local v = redis.call('HGET', KEYS[1], ARGV[1]) if v then local sent = string.gsub(v, '^pending', 'sent', 1) redis.call('HSET', KEYS[1], ARGV[1], sent) end return 1",
            [LedgerKeys.UserAlerts(alert.UserId, alert.Month)],
            [alert.ThresholdPercent]);
    }

    /// <summary>A client span for a Redis step: one per pipelined group of calls. The worker turns off the
    /// per-command Redis instrumentation, which keeps every command of a trace in memory for up to 10 s and makes
    /// one span per command: under load that is tens of thousands of spans a second.</summary>
    public static Activity? RedisSpan(string operation, int calls)
    {
        var activity = WorkerMetrics.ActivitySource.StartActivity(operation, ActivityKind.Client);
        activity?.SetTag("db.system.name", "redis");
        activity?.SetTag("db.operation.name", operation);
        if (calls > 1)
        {
            activity?.SetTag("db.operation.batch.size", calls);
        }

        return activity;
    }

    private static Task<RedisResult> ApplyUserAsync(
        IDatabase db, string userId, string month, IReadOnlyList<PricedUsage> all, List<int> indexes, long defaultBudget, int[] thresholds)
    {
        RedisKey[] keys =
        [
            LedgerKeys.UserTotals(userId, month),
            LedgerKeys.UserModels(userId, month),
            LedgerKeys.UserDaily(userId, month),
            LedgerKeys.UserEvents(userId, month),
            LedgerKeys.UserAlerts(userId, month),
            LedgerKeys.UserBudget(userId),
        ];
        var args = new RedisValue[3 + thresholds.Length + indexes.Count * 7];
        args[0] = ExpiresAt(all[indexes[0]].Usage.OccurredAt).ToUnixTimeSeconds();
        args[1] = defaultBudget;
        args[2] = thresholds.Length;
        var n = 3;
        foreach (var threshold in thresholds)
        {
            args[n++] = threshold;
        }

        foreach (var index in indexes)
        {
            var e = all[index];
            args[n++] = e.Usage.EventId;
            args[n++] = e.Usage.Model;
            args[n++] = e.CostMicros;
            args[n++] = e.Usage.InputTokens;
            args[n++] = e.Usage.CachedInputTokens;
            args[n++] = e.Usage.OutputTokens;
            args[n++] = DayOf(e.Usage.OccurredAt);
        }

        return db.ScriptEvaluateAsync(LedgerScripts.ApplyUserUsage, keys, args);
    }

    private static Task<RedisResult> ApplyMonthAsync(IDatabase db, string month, List<PricedUsage> events, int from, int count)
    {
        RedisKey[] keys = [LedgerKeys.MonthTotals(month), LedgerKeys.MonthUsers(month), LedgerKeys.MonthEvents(month)];
        var args = new RedisValue[1 + count * 6];
        args[0] = ExpiresAt(events[from].Usage.OccurredAt).ToUnixTimeSeconds();
        var n = 1;
        foreach (var e in events.GetRange(from, count))
        {
            args[n++] = $"{e.Usage.UserId}|{e.Usage.EventId}";
            args[n++] = e.Usage.UserId;
            args[n++] = e.CostMicros;
            args[n++] = e.Usage.InputTokens;
            args[n++] = e.Usage.CachedInputTokens;
            args[n++] = e.Usage.OutputTokens;
        }

        return db.ScriptEvaluateAsync(LedgerScripts.ApplyMonthUsage, keys, args);
    }
}
