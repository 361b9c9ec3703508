using LlmCostTracker.History.Repricing;
using LlmCostTracker.Ledger;
using StackExchange.Redis;

namespace LlmCostTracker.Tests.Scripts;

/// <summary>reprice-ledger.lua on a bare cluster-mode redis-server: a run's corrections go into the month's keys
/// once, and a month Redis no longer holds is not brought back.</summary>
public sealed class RepriceLedgerScriptTests(BareRedis redis) : IClassFixture<BareRedis>
{
    private readonly LedgerKeys _keys = new(LedgerKeys.DefaultBuckets);
    private static readonly DateOnly Day = DateOnly.FromDateTime(DateTime.UtcNow);
    private static readonly string Month = Day.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture);

    private async Task<long?[]> ApplyAsync(long run, params LedgerCorrection[] corrections) =>
        await Task.WhenAll(RepriceLedgerCall.Encode(_keys, run, corrections, perCall: 1_000, DateTimeOffset.UtcNow)
            .Select(async c => RepriceLedgerCall.Decode(await RepriceLedgerCall.Script.EvaluateAsync(redis.Db, c.Keys, c.Args))));

    [Fact]
    public async Task A_run_corrects_the_users_month_and_the_buckets_once()
    {
        var user = $"reprice-{Guid.NewGuid():N}";
        var bucket = _keys.BucketOf(user);
        var userMonth = _keys.UserMonth(user, Month);
        var totals = _keys.MonthTotals(bucket, Month);
        var model = LedgerKeys.ModelField("m");
        var day = LedgerKeys.DayField(Day);
        // As the ledger wrote them: cost 100 of which model m 100 (7 packed counters), the day 100; the bucket's month
        // holds another user's 50 as well.
        await redis.Db.HashSetAsync(userMonth, [new(LedgerKeys.Cost, 100), new(model, "100,10,0,5,1,0,0"), new(day, 100)]);
        await redis.Db.HashSetAsync(totals, [new(LedgerKeys.Cost, 150), new(model, "150,20,0,10,2,0,0"), new(day, 150)]);
        await redis.Db.SortedSetAddAsync(_keys.MonthUsers(bucket, Month), user, 100);
        var run = Random.Shared.NextInt64(1, long.MaxValue);

        Assert.Equal([1L], await ApplyAsync(run, new LedgerCorrection(user, "m", Day, 250)));
        // The same run again (the API stopped before recording it applied): its marker says it is in.
        Assert.Equal([(long?)null], await ApplyAsync(run, new LedgerCorrection(user, "m", Day, 250)));

        Assert.Equal(["350", "350,10,0,5,1,0,0", "350"], (await redis.Db.HashGetAsync(userMonth, [LedgerKeys.Cost, model, day])).Select(v => v.ToString()));
        Assert.Equal(["400", "400,20,0,10,2,0,0", "400"], (await redis.Db.HashGetAsync(totals, [LedgerKeys.Cost, model, day])).Select(v => v.ToString()));
        Assert.Equal(350, await redis.Db.SortedSetScoreAsync(_keys.MonthUsers(bucket, Month), user));
        Assert.True(await redis.Db.KeyTimeToLiveAsync(_keys.RepriceMarker(bucket, run, Month, 0)) > TimeSpan.FromDays(35));
    }

    [Fact]
    public async Task A_user_month_that_expired_is_not_brought_back()
    {
        var user = $"reprice-gone-{Guid.NewGuid():N}";
        var bucket = _keys.BucketOf(user);
        Assert.Equal([0L], await ApplyAsync(Random.Shared.NextInt64(1, long.MaxValue), new LedgerCorrection(user, "m", Day, 250)));
        Assert.False(await redis.Db.KeyExistsAsync(_keys.UserMonth(user, Month)));
        Assert.Null(await redis.Db.SortedSetScoreAsync(_keys.MonthUsers(bucket, Month), user));
    }
}
