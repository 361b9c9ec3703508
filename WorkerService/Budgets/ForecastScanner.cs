using System.Diagnostics;
using LlmCostTracker.Contracts;
using LlmCostTracker.Ledger;
using MassTransit;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmCostTracker.WorkerService.Budgets;

/// <summary>Every <see cref="ForecastOptions.Interval"/>, projects each user of the current month from their recent burn
/// rate (<see cref="BurnRateForecast"/>) and publishes <see cref="BudgetForecastExhausted"/> for a budget that runs out
/// before the month ends. Once per user and month, whatever the replicas and restarts: the alert is claimed first with
/// HSETNX on the user's month hash (<see cref="LedgerKeys.ForecastField"/>), and the claim is taken back if publishing
/// fails, so the next scan tries again. Reads only (one ZRANGE a bucket, one pipelined HMGET and GET a user), off the
/// ledger's path.</summary>
public sealed class ForecastScanner(
    IConnectionMultiplexer redis, LedgerKeys keys, IBus bus, IOptions<ForecastOptions> options, IOptions<BudgetOptions> budgets,
    TimeProvider clock, ILogger<ForecastScanner> logger) : BackgroundService
{
    /// <summary>Users read a round trip.</summary>
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

    /// <summary>One pass over the current month's users; returns the forecasts published.</summary>
    public async Task<int> ScanAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var month = LedgerMonth.Of(now);
        var days = WindowDays(now, options.Value.Window);
        var fields = new RedisValue[3 + days.Count];
        fields[0] = LedgerKeys.Cost;
        fields[1] = LedgerKeys.Requests;
        fields[2] = LedgerKeys.ForecastField;
        for (var i = 0; i < days.Count; i++)
        {
            fields[3 + i] = LedgerKeys.DayField(days[i]);
        }

        // No span for the scan itself: an idle app makes no traces (a span every Interval would fill the Traces page);
        // each forecast sent is one (PublishOnceAsync).
        var db = redis.GetDatabase();
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
                    Month: db.HashGetAsync(keys.UserMonth(u.ToString(), month.Key), fields),
                    Budget: db.StringGetAsync(keys.UserBudget(u.ToString())))).ToList();
                foreach (var (user, monthRead, budgetRead) in reads)
                {
                    var values = await monthRead;
                    if (!values[2].IsNull)
                    {
                        continue;
                    }

                    var budget = await budgetRead;
                    var budgetMicros = budget.IsNull ? BudgetOptions.ToMicros(budgets.Value.DefaultMonthlyBudgetUsd) : (long)budget;
                    var dayCosts = new Dictionary<DateOnly, long>(days.Count);
                    for (var i = 0; i < days.Count; i++)
                    {
                        dayCosts[days[i]] = values[3 + i].IsNull ? 0 : (long)values[3 + i];
                    }

                    var spent = values[0].IsNull ? 0 : (long)values[0];
                    var events = values[1].IsNull ? 0 : (long)values[1];
                    if (BurnRateForecast.Project(spent, events, budgetMicros, dayCosts, now, options.Value) is { } projection
                        && await PublishOnceAsync(db, user, month, spent, budgetMicros, projection, now, ct))
                    {
                        published++;
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

    private async Task<bool> PublishOnceAsync(
        IDatabase db, string user, LedgerMonth month, long spent, long budget, BurnRateProjection projection, DateTimeOffset now, CancellationToken ct)
    {
        var key = keys.UserMonth(user, month.Key);
        if (!await db.HashSetAsync(key, LedgerKeys.ForecastField, LedgerKeys.ForecastClaim(projection.ExhaustedAt, now), When.NotExists))
        {
            return false;
        }

        using var activity = WorkerMetrics.ActivitySource.StartActivity("publish budget forecast", ActivityKind.Producer);
        activity?.SetTag("enduser.id", user);
        var alert = new BudgetForecastExhausted
        {
            UserId = user,
            Month = month.Key,
            SpentUsd = BudgetOptions.ToUsd(spent),
            BudgetUsd = BudgetOptions.ToUsd(budget),
            ProjectedExhaustedAt = projection.ExhaustedAt,
            DailyRateUsd = decimal.Round(BudgetOptions.ToUsd(projection.DailyRateMicros), 6),
            DaysEarly = Math.Round(projection.DaysEarly, 2),
            OccurredAt = now,
            TraceParent = activity?.Id,
        };
        try
        {
            await bus.Publish(alert, ct);
        }
        catch (Exception ex)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            await db.HashDeleteAsync(key, LedgerKeys.ForecastField);
            throw;
        }

        logger.LogInformation("Budget forecast: {UserId} runs out of {BudgetUsd} USD on {ExhaustedAt:u}, {DaysEarly} days before {Month} ends ({DailyRateUsd} USD a day)",
            user, alert.BudgetUsd, alert.ProjectedExhaustedAt, alert.DaysEarly, month.Key, alert.DailyRateUsd);
        return true;
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
