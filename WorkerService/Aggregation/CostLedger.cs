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

public sealed record LedgerResult(int Applied, int Duplicates, IReadOnlyList<CrossedThreshold> Alerts);

/// <summary>Aggregates priced usage per user per month in Redis, exactly once per event id, with one script call
/// per user-month (the user's slot) and one per month (the month-wide slot), all pipelined.</summary>
public sealed class CostLedger(IConnectionMultiplexer redis, IOptions<BudgetOptions> budgets)
{
    /// <summary>Keys live until 35 days after the end of their month, so last month stays readable all this month.</summary>
    public static readonly TimeSpan RetentionAfterMonthEnd = TimeSpan.FromDays(35);

    public static string MonthOf(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM", CultureInfo.InvariantCulture);

    public static DateTimeOffset ExpiresAt(DateTimeOffset at)
    {
        var utc = at.UtcDateTime;
        return new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1) + RetentionAfterMonthEnd;
    }

    public async Task<LedgerResult> ApplyAsync(IReadOnlyList<PricedUsage> events)
    {
        var db = redis.GetDatabase();
        var options = budgets.Value;
        var defaultBudget = BudgetOptions.ToMicros(options.DefaultMonthlyBudgetUsd);

        var userCalls = new List<(string UserId, string Month, List<PricedUsage> Events, Task<RedisResult> Call)>();
        foreach (var group in events.GroupBy(e => (e.Usage.UserId, Month: MonthOf(e.Usage.OccurredAt))))
        {
            var list = group.ToList();
            userCalls.Add((group.Key.UserId, group.Key.Month, list, ApplyUserAsync(db, group.Key.UserId, group.Key.Month, list, defaultBudget, options.ThresholdsPercent)));
        }

        var monthCalls = events.GroupBy(e => MonthOf(e.Usage.OccurredAt))
            .Select(group => ApplyMonthAsync(db, group.Key, [.. group]))
            .ToList();

        await Task.WhenAll(userCalls.Select(c => c.Call).Concat(monthCalls));

        int applied = 0, duplicates = 0;
        var alerts = new List<CrossedThreshold>();
        foreach (var (userId, month, list, call) in userCalls)
        {
            var reply = (RedisResult[])call.Result!;
            applied += (int)reply[0];
            duplicates += (int)reply[1];
            var budget = (long)reply[2];
            for (var i = 3; i + 2 < reply.Length; i += 3)
            {
                var index = (int)reply[i + 1];
                alerts.Add(new CrossedThreshold(userId, month, (int)reply[i], (long)reply[i + 2], budget, index > 0 ? list[index - 1].Usage : null));
            }
        }

        return new LedgerResult(applied, duplicates, alerts);
    }

    /// <summary>Re-arms or fires a user's thresholds for a month after the budget changed.</summary>
    public async Task<IReadOnlyList<CrossedThreshold>> ReevaluateBudgetAsync(string userId, string month)
    {
        var options = budgets.Value;
        var monthStart = DateTimeOffset.ParseExact(month + "-01", "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        var args = new List<RedisValue> { ExpiresAt(monthStart).ToUnixTimeSeconds(), BudgetOptions.ToMicros(options.DefaultMonthlyBudgetUsd) };
        args.AddRange(options.ThresholdsPercent.Select(t => (RedisValue)t));
        var reply = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(
            LedgerScripts.ReevaluateBudget,
            [LedgerKeys.UserTotals(userId, month), LedgerKeys.UserAlerts(userId, month), LedgerKeys.UserBudget(userId)],
            [.. args]))!;
        var budget = (long)reply[0];
        var spent = (long)reply[1];
        return [.. reply.Skip(2).Select(t => new CrossedThreshold(userId, month, (int)t, spent, budget, Usage: null))];
    }

    /// <summary>Marks an alert published, so a later redelivery does not hand it back.</summary>
    public Task MarkAlertSentAsync(CrossedThreshold alert) =>
        redis.GetDatabase().ScriptEvaluateAsync(
            "local v = redis.call('HGET', KEYS[1], ARGV[1]) if v then local sent = string.gsub(v, '^pending', 'sent', 1) redis.call('HSET', KEYS[1], ARGV[1], sent) end return 1",
            [LedgerKeys.UserAlerts(alert.UserId, alert.Month)],
            [alert.ThresholdPercent]);

    private static Task<RedisResult> ApplyUserAsync(
        IDatabase db, string userId, string month, List<PricedUsage> events, long defaultBudget, int[] thresholds)
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
        var args = new RedisValue[3 + thresholds.Length + events.Count * 7];
        args[0] = ExpiresAt(events[0].Usage.OccurredAt).ToUnixTimeSeconds();
        args[1] = defaultBudget;
        args[2] = thresholds.Length;
        var n = 3;
        foreach (var threshold in thresholds)
        {
            args[n++] = threshold;
        }

        foreach (var e in events)
        {
            args[n++] = e.Usage.EventId;
            args[n++] = e.Usage.Model;
            args[n++] = e.CostMicros;
            args[n++] = e.Usage.InputTokens;
            args[n++] = e.Usage.CachedInputTokens;
            args[n++] = e.Usage.OutputTokens;
            args[n++] = e.Usage.OccurredAt.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        }

        return db.ScriptEvaluateAsync(LedgerScripts.ApplyUserUsage, keys, args);
    }

    private static Task<RedisResult> ApplyMonthAsync(IDatabase db, string month, List<PricedUsage> events)
    {
        RedisKey[] keys = [LedgerKeys.MonthTotals(month), LedgerKeys.MonthUsers(month), LedgerKeys.MonthEvents(month)];
        var args = new RedisValue[1 + events.Count * 6];
        args[0] = ExpiresAt(events[0].Usage.OccurredAt).ToUnixTimeSeconds();
        var n = 1;
        foreach (var e in events)
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
