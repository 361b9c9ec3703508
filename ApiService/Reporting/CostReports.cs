using LlmCostTracker.Contracts.Reporting;
using LlmCostTracker.Contracts;
using LlmCostTracker.Ledger.Holds;
using LlmCostTracker.History.Reports;
using LlmCostTracker.Ledger;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmCostTracker.ApiService.Reporting;

/// <summary>Builds reports from the pre-aggregated ledger. Each bucket's share of the month (totals and a user
/// index, a sorted set) is read together; the month's totals are their sum, and the top users are merged from each
/// bucket's top <c>top</c>. Each row is then a handful of reads of the user's own bucket, issued together. Work
/// grows with buckets × <c>top</c>, never with the number of users, and nothing scans keys. A month Redis has let go
/// (its keys expire 35 days after the month) is read from the history database instead, in the same shape: what Redis
/// holds is served from Redis, and only a month (or a user's month) with nothing there goes to PostgreSQL.</summary>
public sealed class CostReports(
    IConnectionMultiplexer redis, LedgerKeys keys, IOptions<BudgetOptions> budgets, BudgetHolds holds, TimeProvider clock, HistoryReader? history = null)
{
    public const string Currency = "USD";

    public async Task<CostReport> MonthAsync(LedgerMonth month, int top)
    {
        var db = redis.GetDatabase();
        var now = clock.GetUtcNow();
        var buckets = Enumerable.Range(0, keys.Buckets).ToArray();
        Task<HashEntry[]>[] totalsTasks;
        Task<long>[] countTasks;
        Task<SortedSetEntry[]>[] rankedTasks;
        using (RedisSpans.Start("HGETALL ZCARD ZRANGE", buckets.Length * 3))
        {
            totalsTasks = [.. buckets.Select(b => db.HashGetAllAsync(keys.MonthTotals(b, month.Key)))];
            countTasks = [.. buckets.Select(b => db.SortedSetLengthAsync(keys.MonthUsers(b, month.Key)))];
            rankedTasks = [.. buckets.Select(b => db.SortedSetRangeByRankWithScoresAsync(keys.MonthUsers(b, month.Key), 0, top - 1, Order.Descending))];
            await Task.WhenAll([.. totalsTasks, .. countTasks, .. rankedTasks]);
        }

        var ranked = (await Task.WhenAll(rankedTasks)).SelectMany(r => r)
            .OrderByDescending(e => e.Score).ThenBy(e => e.Element.ToString(), StringComparer.Ordinal).Take(top);

        var rows = await Task.WhenAll(ranked.Select(entry => UserRowAsync(db, entry.Element!, month, now)));
        var totals = default(Counters);
        var models = new Dictionary<string, Counters>(StringComparer.Ordinal);
        var days = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var bucket in await Task.WhenAll(totalsTasks))
        {
            totals += Read(bucket, models, days);
        }

        var userCount = (await Task.WhenAll(countTasks)).Sum();
        if (userCount == 0 && totals.Requests == 0 && history is not null)
        {
            return await HistoryMonthAsync(history, db, month, top, now);
        }

        var projection = MonthProjection.Project(totals.Cost, month.Year, month.Month, now, budgetMicros: 0);

        return new CostReport(month.Key, Currency, now,
            new ReportTotals(Usd(totals.Cost), totals.Input, totals.Cached, totals.Output, totals.Requests, userCount, Usd(projection.MonthEndMicros),
                totals.CacheWrite, totals.Reasoning),
            [.. rows.OfType<UserCostRow>().OrderByDescending(r => r.CostUsd).ThenBy(r => r.UserId, StringComparer.Ordinal)],
            ModelRows(models),
            [.. days.Select(d => new DailyCost(d.Key, Usd(d.Value)))]);
    }

    /// <summary>A month hash (a user's or a bucket's): the totals returned, models and days added to the maps.</summary>
    internal static Counters Read(HashEntry[] entries, Dictionary<string, Counters> models, IDictionary<string, long> days)
    {
        var counters = default(Counters);
        foreach (var entry in entries)
        {
            var name = entry.Name.ToString();
            if (name.StartsWith(LedgerKeys.DayPrefix, StringComparison.Ordinal))
            {
                var day = name[LedgerKeys.DayPrefix.Length..];
                days[day] = days.TryGetValue(day, out var sum) ? sum + (long)entry.Value : (long)entry.Value;
            }
            else if (name.StartsWith(LedgerKeys.ModelPrefix, StringComparison.Ordinal))
            {
                var model = name[LedgerKeys.ModelPrefix.Length..];
                var c = Counters.FromPacked(LedgerKeys.ParseModelCounters(entry.Value.ToString()));
                models[model] = models.TryGetValue(model, out var sum) ? sum + c : c;
            }
            else if (!name.StartsWith(LedgerKeys.AlertPrefix, StringComparison.Ordinal))
            {
                counters = counters.With(name, (long)entry.Value);
            }
        }

        return counters;
    }

    internal static ModelCostRow[] ModelRows(Dictionary<string, Counters> models) =>
    [
        .. models
            .Select(m => new ModelCostRow(m.Key, Usd(m.Value.Cost), m.Value.Input, m.Value.Cached, m.Value.Output, m.Value.Requests, m.Value.CacheWrite, m.Value.Reasoning))
            .OrderByDescending(m => m.CostUsd)
            .ThenBy(m => m.Model, StringComparer.Ordinal),
    ];

    /// <summary>One user's month with its daily series, or null when the user has no usage that month.</summary>
    public async Task<UserCostDetail?> UserAsync(string userId, LedgerMonth month)
    {
        var now = clock.GetUtcNow();
        var db = redis.GetDatabase();
        var (row, daily, forecast) = await ReadUserAsync(db, userId, month, now);
        if (row is null)
        {
            if (history is not null && await history.UserAsync(userId, FirstDay(month), FirstDay(month).AddMonths(1), CancellationToken.None) is { } past)
            {
                (row, daily) = await HistoryUserRowAsync(db, past, month, now);
                forecast = null;
            }
            else
            {
                return null;
            }
        }

        return new UserCostDetail(month.Key, Currency, now, row.UserId, row.CostUsd, row.InputTokens, row.CachedInputTokens,
            row.OutputTokens, row.Requests, row.BudgetUsd, row.BudgetUsedPercent, row.ProjectedMonthEndCostUsd,
            row.ProjectedBudgetExhaustedAt, row.Models, daily, row.CacheWriteInputTokens, row.ReasoningOutputTokens, row.BudgetExhausted, row.HeldUsd,
            forecast);
    }

    private async Task<UserCostRow?> UserRowAsync(IDatabase db, string userId, LedgerMonth month, DateTimeOffset now) =>
        (await ReadUserAsync(db, userId, month, now)).Row;

    /// <summary>Reads a user's month (one hash: totals, models, days, alert states), budget and, for the current
    /// month, what the user holds now (holds are not kept per month: a past month shows none), together.</summary>
    private async Task<(UserCostRow? Row, List<DailyCost> Daily, BudgetForecast? Forecast)> ReadUserAsync(IDatabase db, string userId, LedgerMonth month, DateTimeOffset now)
    {
        // Started first: its reads make their own spans.
        var heldTask = month == LedgerMonth.Of(now) ? holds.HeldMicrosAsync(db, userId) : Task.FromResult(0L);
        HashEntry[] entries;
        RedisValue budgetValue;
        using (RedisSpans.Start("HGETALL GET", 2))
        {
            var entriesTask = db.HashGetAllAsync(keys.UserMonth(userId, month.Key));
            var budgetTask = db.StringGetAsync(keys.UserBudget(userId));
            entries = await entriesTask;
            budgetValue = await budgetTask;
        }

        await heldTask;
        if (entries.Length == 0)
        {
            return (null, [], null);
        }

        var models = new Dictionary<string, Counters>(StringComparer.Ordinal);
        var days = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var counters = Read(entries, models, days);
        var exhaustedState = entries.FirstOrDefault(e => e.Name == LedgerKeys.AlertField(100)).Value is { HasValue: true } state ? state.ToString() : null;

        var dailyOrdered = days.Select(d => new DailyCost(d.Key, Usd(d.Value))).ToList();
        var row = UserRow(userId, counters, models, dailyOrdered, BudgetOf(budgetValue), month, now,
            exhaustedState is null ? null : LedgerKeys.CrossedAt(exhaustedState), await heldTask);
        return (row, dailyOrdered, ForecastOf(entries.FirstOrDefault(e => e.Name == LedgerKeys.ForecastField).Value));
    }

    private async Task<CostReport> HistoryMonthAsync(HistoryReader store, IDatabase db, LedgerMonth month, int top, DateTimeOffset now)
    {
        var from = FirstDay(month);
        var past = await store.PeriodAsync(from, from.AddMonths(1), top, CancellationToken.None);
        if (past is null)
        {
            return new CostReport(month.Key, Currency, now, new ReportTotals(0, 0, 0, 0, 0, 0, 0, 0, 0), [], [], []);
        }

        var rows = (await Task.WhenAll(past.TopUsers.Select(user => HistoryUserRowAsync(db, user, month, now)))).Select(r => r.Row);

        var totals = Of(past.Totals);
        var projection = MonthProjection.Project(totals.Cost, month.Year, month.Month, now, budgetMicros: 0);
        return new CostReport(month.Key, Currency, now,
            new ReportTotals(Usd(totals.Cost), totals.Input, totals.Cached, totals.Output, totals.Requests, past.UserCount, Usd(projection.MonthEndMicros),
                totals.CacheWrite, totals.Reasoning),
            [.. rows.OrderByDescending(r => r.CostUsd).ThenBy(r => r.UserId, StringComparer.Ordinal)],
            ModelRows(past.Models.ToDictionary(m => m.Key, m => Of(m.Value), StringComparer.Ordinal)),
            [.. past.Days.Select(d => new DailyCost(Day(d.Day), Usd(d.CostMicros)))]);
    }

    /// <summary>A user's row from the history database: the budget is today's (budgets are not kept per month), nothing
    /// is held, and a crossing is known to the day.</summary>
    private async Task<(UserCostRow Row, List<DailyCost> Daily)> HistoryUserRowAsync(IDatabase db, HistorySeries user, LedgerMonth month, DateTimeOffset now)
    {
        var budget = BudgetOf(await db.StringGetAsync(keys.UserBudget(user.Key)));
        var daily = user.Days.Select(d => new DailyCost(Day(d.Day), Usd(d.CostMicros))).ToList();
        var models = user.Models.ToDictionary(m => m.Key, m => Of(m.Value), StringComparer.Ordinal);
        return (UserRow(user.Key, Of(user.Totals), models, daily, budget, month, now, recordedCrossing: null, heldMicros: 0), daily);
    }

    /// <summary>A user's month as reported, from wherever it was read: the budget's use, the projection and, past the
    /// budget, when it ran out (the crossing the ledger recorded, else the end of the day the daily series crosses it).</summary>
    private static UserCostRow UserRow(
        string userId, Counters counters, Dictionary<string, Counters> models, List<DailyCost> daily, long budget, LedgerMonth month, DateTimeOffset now,
        DateTimeOffset? recordedCrossing, long heldMicros)
    {
        var projection = MonthProjection.Project(counters.Cost, month.Year, month.Month, now, budget);
        var over = budget > 0 && counters.Cost >= budget;
        return new UserCostRow(
            userId,
            Usd(counters.Cost),
            counters.Input,
            counters.Cached,
            counters.Output,
            counters.Requests,
            Usd(budget),
            budget > 0 ? decimal.Round(counters.Cost * 100m / budget, 2, MidpointRounding.AwayFromZero) : null,
            Usd(projection.MonthEndMicros),
            over ? recordedCrossing ?? CrossingDayEnd(daily, budget, now) : projection.BudgetExhaustedAt,
            ModelRows(models),
            counters.CacheWrite,
            counters.Reasoning,
            over,
            Usd(heldMicros));
    }

    /// <summary>A user's stored budget, or the default where none is stored.</summary>
    private long BudgetOf(RedisValue stored) => stored.HasValue ? (long)stored : BudgetOptions.ToMicros(budgets.Value.DefaultMonthlyBudgetUsd);

    internal static DateOnly FirstDay(LedgerMonth month) => new(month.Year, month.Month, 1);

    internal static string Day(DateOnly day) => day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    internal static Counters Of(HistoryCounters c) => new(c.Cost, c.Input, c.Cached, c.Output, c.Requests, c.CacheWrite, c.Reasoning);

    /// <summary>The month's forecast alert as reported, from its claim (a user's <see cref="LedgerKeys.ForecastField"/>
    /// or a tag value's <see cref="LedgerKeys.TagForecast"/>); null before one was sent.</summary>
    internal static BudgetForecast? ForecastOf(RedisValue claim) =>
        claim.HasValue && LedgerKeys.ParseForecastClaim(claim.ToString()) is { } sent ? new BudgetForecast(sent.ForecastAt, sent.ExhaustedAt) : null;

    /// <summary>Without a recorded crossing (no 100% threshold configured, or usage from before it was recorded):
    /// the end of the day the daily series crosses the budget, or now if that is today. Day precision, but never
    /// before the usage that crossed it, as extrapolating the run rate backwards would be.</summary>
    internal static DateTimeOffset? CrossingDayEnd(List<DailyCost> daily, long budgetMicros, DateTimeOffset now)
    {
        var spent = 0m;
        foreach (var day in daily)
        {
            spent += day.CostUsd;
            if (BudgetOptions.ToMicros(spent) >= budgetMicros)
            {
                var end = DateTimeOffset.ParseExact(day.Date, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture,
                    System.Globalization.DateTimeStyles.AssumeUniversal).AddDays(1);
                return end < now ? end : now;
            }
        }

        return now;
    }

    internal static decimal Usd(long micros) => BudgetOptions.ToUsd(micros);

    internal readonly record struct Counters(long Cost, long Input, long Cached, long Output, long Requests, long CacheWrite, long Reasoning)
    {
        /// <summary>A model field's counters, in <see cref="LedgerKeys.Counters"/> order.</summary>
        public static Counters FromPacked(long[] c) => new(c[0], c[1], c[2], c[3], c[4], c[5], c[6]);

        public static Counters operator +(Counters a, Counters b) =>
            new(a.Cost + b.Cost, a.Input + b.Input, a.Cached + b.Cached, a.Output + b.Output, a.Requests + b.Requests,
                a.CacheWrite + b.CacheWrite, a.Reasoning + b.Reasoning);

        public Counters With(string field, long value) => field switch
        {
            LedgerKeys.Cost => this with { Cost = value },
            LedgerKeys.Input => this with { Input = value },
            LedgerKeys.Cached => this with { Cached = value },
            LedgerKeys.Output => this with { Output = value },
            LedgerKeys.Requests => this with { Requests = value },
            LedgerKeys.CacheWrite => this with { CacheWrite = value },
            LedgerKeys.Reasoning => this with { Reasoning = value },
            _ => this,
        };
    }
}
