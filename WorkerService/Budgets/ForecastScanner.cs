using System.Diagnostics;
using LlmCostTracker.Contracts;
using LlmCostTracker.Ledger;
using MassTransit;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmCostTracker.WorkerService.Budgets;

/// <summary>Every <see cref="ForecastOptions.Interval"/>, projects each user of the current month, and each tag value
/// with a budget, from the recent burn rate (<see cref="BurnRateForecast"/>), and publishes
/// <see cref="BudgetForecastExhausted"/> (<see cref="TagBudgetForecastExhausted"/>) for a budget that runs out before the
/// month ends. Once per subject and month, whatever the replicas and restarts: the alert is claimed first, with HSETNX on
/// the user's month hash (<see cref="LedgerKeys.ForecastField"/>) or SET NX of the value's
/// <see cref="LedgerKeys.TagForecast"/>, and the claim is taken back if publishing fails, so the next scan tries again.
/// Reads only, off the ledger's path: a user costs one pipelined HMGET and GET; a dimension one ZRANGE a bucket, then a
/// page of values one MGET of budgets and claims, and a value with a budget one HMGET a bucket.</summary>
public sealed class ForecastScanner(
    IConnectionMultiplexer redis, LedgerKeys keys, IBus bus, IOptions<ForecastOptions> options, IOptions<BudgetOptions> budgets,
    IOptions<AttributionOptions> attribution, TimeProvider clock, ILogger<ForecastScanner> logger) : BackgroundService
{
    /// <summary>Users or tag values read a round trip.</summary>
    private const int Page = 500;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }

        using var timer = new PeriodicTimer(options.Value.Interval, clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await ScanAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // Redis or the broker away: the next tick tries again (a claim whose publish failed was taken back). A
                // background service that throws would stop the worker, and the ledger with it.
                logger.LogWarning("Budget forecast scan stopped early: {Reason}", ex.Message);
            }
        }
    }

    /// <summary>One pass over the current month's users and budgeted tag values; returns the forecasts published.</summary>
    public async Task<int> ScanAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var month = UsageMonth.Of(now);
        var days = WindowDays(now, options.Value.Window);
        // The fields a projection reads, from a user's month hash or a tag value's bucket hash (the same layout).
        var fields = new RedisValue[2 + days.Count];
        fields[0] = LedgerKeys.Cost;
        fields[1] = LedgerKeys.Requests;
        for (var i = 0; i < days.Count; i++)
        {
            fields[2 + i] = LedgerKeys.DayField(days[i]);
        }

        // No span for the scan itself: an idle app makes no traces (a span every Interval would fill the Traces page);
        // each forecast sent is one (PublishAsync).
        var db = redis.GetDatabase();
        var published = await ScanUsersAsync(db, month, now, days, fields, ct);
        foreach (var dimension in attribution.Value.Dimensions)
        {
            published += await ScanTagsAsync(db, dimension, month, now, days, fields, ct);
        }

        return published;
    }

    private async Task<int> ScanUsersAsync(IDatabase db, UsageMonth month, DateTimeOffset now, List<DateOnly> days, RedisValue[] fields, CancellationToken ct)
    {
        RedisValue[] userFields = [.. fields, LedgerKeys.ForecastField];
        var published = 0;
        for (var bucket = 0; bucket < keys.Buckets; bucket++)
        {
            for (long start = 0; ; start += Page)
            {
                var users = await db.SortedSetRangeByRankAsync(keys.MonthUsers(bucket, month.Key), start, start + Page - 1);
                if (users.Length == 0)
                {
                    break;
                }

                var reads = users.Select(u => (User: u.ToString(),
                    Month: db.HashGetAsync(keys.UserMonth(u.ToString(), month.Key), userFields),
                    Budget: db.StringGetAsync(keys.UserBudget(u.ToString())))).ToList();
                foreach (var (user, monthRead, budgetRead) in reads)
                {
                    var values = await monthRead;
                    if (!values[^1].IsNull)
                    {
                        continue;
                    }

                    var budget = await budgetRead;
                    var budgetMicros = budget.IsNull ? budgets.Value.DefaultMonthlyBudgetMicros : (long)budget;
                    var share = Share.Read(values, days);
                    if (Project(share, budgetMicros, days, now) is { } projection)
                    {
                        var key = keys.UserMonth(user, month.Key);
                        if (await db.HashSetAsync(key, LedgerKeys.ForecastField, LedgerKeys.ForecastClaim(projection.ExhaustedAt, now), When.NotExists))
                        {
                            await PublishAsync(user, new("enduser.id", user), () => db.HashDeleteAsync(key, LedgerKeys.ForecastField), month, share.Spent, budgetMicros, projection, now,
                                (f, traceParent) => new BudgetForecastExhausted
                                {
                                    UserId = user, Month = f.Month, SpentUsd = f.SpentUsd, BudgetUsd = f.BudgetUsd, ProjectedExhaustedAt = f.ExhaustedAt,
                                    DailyRateUsd = f.DailyRateUsd, DaysEarly = f.DaysEarly, OccurredAt = f.OccurredAt, TraceParent = traceParent,
                                }, ct);
                            published++;
                        }
                    }
                }

                if (users.Length < Page)
                {
                    break;
                }
            }
        }

        return published;
    }

    /// <summary>A dimension's values of the month are the union of its buckets' indexes (at most
    /// <see cref="AttributionOptions.MaxValuesPerDimension"/>); only those with a budget and no forecast yet are read
    /// further, each summed over the buckets (a value's month is split among the buckets of its users).</summary>
    private async Task<int> ScanTagsAsync(
        IDatabase db, string dimension, UsageMonth month, DateTimeOffset now, List<DateOnly> days, RedisValue[] fields, CancellationToken ct)
    {
        var indexes = await Task.WhenAll(Enumerable.Range(0, keys.Buckets).Select(b => db.SortedSetRangeByRankAsync(keys.TagIndex(b, dimension, month.Key))));
        var values = indexes.SelectMany(i => i).Select(v => v.ToString()).Distinct(StringComparer.Ordinal).ToList();
        var published = 0;
        foreach (var page in values.Chunk(Page))
        {
            // Every budget and forecast claim is in the {llmcost} slot: one MGET a page, on a cluster too. Value i's
            // budget is at 2i, its claim at 2i + 1.
            var stored = await db.StringGetAsync([.. page.SelectMany(v => new RedisKey[] { LedgerKeys.TagBudget(dimension, v), LedgerKeys.TagForecast(dimension, month.Key, v) })]);
            var candidates = page.Select((value, i) => (Value: value, Budget: stored[2 * i], Claimed: stored[2 * i + 1].HasValue))
                .Where(c => c.Budget.HasValue && (long)c.Budget > 0 && !c.Claimed)
                .Select(c => (c.Value, Budget: (long)c.Budget,
                    Shares: Task.WhenAll(Enumerable.Range(0, keys.Buckets).Select(b => db.HashGetAsync(keys.TagValue(b, dimension, month.Key, c.Value), fields)))))
                .ToList();
            foreach (var (value, budget, sharesRead) in candidates)
            {
                var share = (await sharesRead).Aggregate(default(Share), (sum, bucket) => sum + Share.Read(bucket, days));
                var expiry = month.ExpiresAt - now;
                if (Project(share, budget, days, now) is { } projection && expiry > TimeSpan.Zero)
                {
                    var claim = LedgerKeys.TagForecast(dimension, month.Key, value);
                    if (await db.StringSetAsync(claim, LedgerKeys.ForecastClaim(projection.ExhaustedAt, now), expiry, When.NotExists))
                    {
                        await PublishAsync($"{dimension}={value}", new("llmcost.tag.dimension", dimension), () => db.KeyDeleteAsync(claim), month, share.Spent, budget, projection, now,
                            (f, traceParent) => new TagBudgetForecastExhausted
                            {
                                Dimension = dimension, Value = value, Month = f.Month, SpentUsd = f.SpentUsd, BudgetUsd = f.BudgetUsd,
                                ProjectedExhaustedAt = f.ExhaustedAt, DailyRateUsd = f.DailyRateUsd, DaysEarly = f.DaysEarly, OccurredAt = f.OccurredAt,
                                TraceParent = traceParent,
                            }, ct);
                        published++;
                    }
                }
            }
        }

        return published;
    }

    private BurnRateProjection? Project(Share share, long budgetMicros, List<DateOnly> days, DateTimeOffset now)
    {
        var dayCosts = new Dictionary<DateOnly, long>(days.Count);
        for (var i = 0; i < days.Count; i++)
        {
            dayCosts[days[i]] = share.Days[i];
        }

        return BurnRateForecast.Project(share.Spent, share.Events, budgetMicros, dayCosts, now, options.Value);
    }

    /// <summary>Publishes a claimed forecast, the message built by <paramref name="message"/> from the figures and the
    /// traceparent of its span; on failure takes the claim back (<paramref name="unclaim"/>) and throws, so a later scan
    /// sends it.</summary>
    private async Task PublishAsync<T>(
        string subject, KeyValuePair<string, object?> spanTag, Func<Task> unclaim, UsageMonth month, long spent, long budget, BurnRateProjection projection, DateTimeOffset now,
        Func<ForecastFigures, string?, T> message, CancellationToken ct)
        where T : class
    {
        using var activity = WorkerMetrics.ActivitySource.StartActivity("publish budget forecast", ActivityKind.Producer);
        activity?.SetTag(spanTag.Key, spanTag.Value);
        var figures = new ForecastFigures(month.Key, BudgetOptions.ToUsd(spent), BudgetOptions.ToUsd(budget), projection.ExhaustedAt,
            decimal.Round(BudgetOptions.ToUsd(projection.DailyRateMicros), 6), Math.Round(projection.DaysEarly, 2), now);
        try
        {
            await bus.Publish(message(figures, activity?.Id), ct);
        }
        catch (Exception ex)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            await unclaim();
            throw;
        }

        logger.LogInformation("Budget forecast: {Subject} runs out of {BudgetUsd} USD on {ExhaustedAt:u}, {DaysEarly} days before {Month} ends ({DailyRateUsd} USD a day)",
            subject, figures.BudgetUsd, figures.ExhaustedAt, figures.DaysEarly, month.Key, figures.DailyRateUsd);
    }

    /// <summary>What a forecast alert says, whoever it is about.</summary>
    private sealed record ForecastFigures(
        string Month, decimal SpentUsd, decimal BudgetUsd, DateTimeOffset ExhaustedAt, decimal DailyRateUsd, double DaysEarly, DateTimeOffset OccurredAt);

    /// <summary>A month's spend, events and window days' spend (in the order of the window's days), read from a user's
    /// month hash or a tag value's bucket hash, or summed over a value's buckets.</summary>
    private readonly record struct Share(long Spent, long Events, long[] Days)
    {
        public static Share Read(RedisValue[] values, List<DateOnly> days)
        {
            var dayCosts = new long[days.Count];
            for (var i = 0; i < days.Count; i++)
            {
                dayCosts[i] = Number(values[2 + i]);
            }

            return new Share(Number(values[0]), Number(values[1]), dayCosts);
        }

        public static Share operator +(Share a, Share b) =>
            new(a.Spent + b.Spent, a.Events + b.Events, a.Days is null ? b.Days : [.. a.Days.Zip(b.Days, (x, y) => x + y)]);

        private static long Number(RedisValue value) => value.IsNull ? 0 : (long)value;
    }

    /// <summary>The UTC days of the month that the window reaches, today included.</summary>
    internal static List<DateOnly> WindowDays(DateTimeOffset now, TimeSpan window)
    {
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var first = DateOnly.FromDateTime((now - window).UtcDateTime);
        var monthStart = new DateOnly(today.Year, today.Month, 1);
        if (first < monthStart)
        {
            first = monthStart;
        }

        var days = new List<DateOnly>();
        for (var day = first; day <= today; day = day.AddDays(1))
        {
            days.Add(day);
        }

        return days;
    }
}
