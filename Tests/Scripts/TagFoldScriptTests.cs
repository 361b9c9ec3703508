using LlmCostTracker.Contracts;
using LlmCostTracker.Ledger;
using LlmCostTracker.WorkerService.Aggregation;
using LlmCostTracker.WorkerService.Attribution;
using LlmCostTracker.WorkerService.Chunks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmCostTracker.Tests.Scripts;

/// <summary>Tag deltas appended by ledger writes and folded into the tag values (fold-tags.lua) on a bare
/// cluster-mode redis-server.</summary>
public sealed class TagFoldScriptTests(BareRedis redis) : IClassFixture<BareRedis>
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private readonly LedgerKeys _keys = new(LedgerKeys.DefaultBuckets);
    private static readonly string Month = UsageMonth.Of(Now).Key;

    private CostLedger Ledger => new(redis.Connection, _keys, Options.Create(new BudgetOptions { ThresholdsPercent = [80, 100] }), Options.Create(new LedgerOptions()), TimeProvider.System);

    private TagFolder Folder(int batch)
    {
        var meters = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        var attribution = Options.Create(new AttributionOptions { FoldBatch = batch });
        attribution.Value.Normalize();
        // No tag budget is set here, so the budget check after a fold publishes nothing: no bus is needed.
        var tags = new TagAttribution(redis.Connection, _keys, null!, attribution, Options.Create(new BudgetOptions { ThresholdsPercent = [80, 100] }),
            meters, TimeProvider.System, NullLogger<TagAttribution>.Instance);
        return new TagFolder(redis.Connection, _keys, tags, attribution, meters, NullLogger<TagFolder>.Instance);
    }

    private static PricedUsage Event(string user, string team, long micros, string? id = null) =>
        new(new LlmUsage
        {
            EventId = id ?? Guid.NewGuid().ToString("N"), UserId = user, Model = "gpt-4o", InputTokens = 10, CachedInputTokens = 0, OutputTokens = 5,
            OccurredAt = Now, Tags = new Dictionary<string, string> { ["team"] = team },
        }, micros);

    private async Task<long> CostAsync(string team) =>
        (await Task.WhenAll(Enumerable.Range(0, _keys.Buckets).Select(b => redis.Db.HashGetAsync(_keys.TagValue(b, "team", Month, team), LedgerKeys.Cost))))
        .Sum(v => v.HasValue ? (long)v : 0);

    [Fact]
    public async Task Two_folders_racing_over_the_same_deltas_fold_each_exactly_once()
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        var users = Enumerable.Range(0, 40).Select(i => $"fold-{run}-{i}").ToArray();
        string[] teams = [$"a-{run}", $"b-{run}"];
        long expectedA = 0, expectedB = 0;
        // 30 ledger writes (each a call per bucket touched, so many deltas per bucket), 20 events each.
        for (var w = 0; w < 30; w++)
        {
            var events = Enumerable.Range(0, 20).Select(i => Event(users[(w * 20 + i) % users.Length], teams[i % 2], 100 + i)).ToArray();
            expectedA += events.Where(e => e.Usage.Tags!["team"] == teams[0]).Sum(e => e.CostMicros);
            expectedB += events.Where(e => e.Usage.Tags!["team"] == teams[1]).Sum(e => e.CostMicros);
            await Ledger.ApplyAsync(events);
        }

        var waiting = await Task.WhenAll(Enumerable.Range(0, _keys.Buckets).Select(b => redis.Db.ListLengthAsync(_keys.TagDeltas(b))));
        Assert.True(waiting.Sum() >= 30, $"{waiting.Sum()} deltas");

        // Two workers' folders, small batches, all at once on every bucket, until nothing waits.
        var folders = new[] { Folder(batch: 3), Folder(batch: 3) };
        for (var round = 0; round < 100 && (await Task.WhenAll(Enumerable.Range(0, _keys.Buckets).Select(b => redis.Db.ListLengthAsync(_keys.TagDeltas(b))))).Sum() > 0; round++)
        {
            await Task.WhenAll(folders.SelectMany(f => Enumerable.Range(0, _keys.Buckets).Select(f.FoldAsync)));
        }

        Assert.All(Enumerable.Range(0, _keys.Buckets), b => Assert.Equal(0, redis.Db.ListLength(_keys.TagDeltas(b))));
        Assert.Equal(expectedA, await CostAsync(teams[0]));
        Assert.Equal(expectedB, await CostAsync(teams[1]));
        // The dimension's index, summed over the buckets, agrees with the values.
        var index = (await Task.WhenAll(Enumerable.Range(0, _keys.Buckets).Select(b => redis.Db.SortedSetScoreAsync(_keys.TagIndex(b, "team", Month), teams[0]))))
            .Sum(s => s ?? 0);
        Assert.Equal(expectedA, index);
    }

    [Fact]
    public async Task A_redelivered_write_appends_nothing_and_a_mixed_one_is_folded_without_its_duplicates()
    {
        var user = $"fold-dup-{Guid.NewGuid():N}";
        var team = $"t-{Guid.NewGuid().ToString("N")[..8]}";
        var first = Event(user, team, 1_000, "one");
        await Ledger.ApplyAsync([first]);
        // All duplicates: the call counts nothing and appends no delta.
        var bucket = _keys.BucketOf(user);
        var before = await redis.Db.ListLengthAsync(_keys.TagDeltas(bucket));
        await Ledger.ApplyAsync([first]);
        Assert.Equal(before, await redis.Db.ListLengthAsync(_keys.TagDeltas(bucket)));
        // A duplicate beside a new event: the delta sums both, the duplicate listed after it.
        await Ledger.ApplyAsync([first, Event(user, team, 500, "two")]);
        RedisValue last = await redis.Db.ListGetByIndexAsync(_keys.TagDeltas(bucket), -1);
        Assert.Contains((byte)'\n', (byte[])last!);

        var folder = Folder(batch: 100);
        while (await redis.Db.ListLengthAsync(_keys.TagDeltas(bucket)) > 0)
        {
            Assert.True(await folder.FoldAsync(bucket) > 0);
        }

        Assert.Equal(1_500, await CostAsync(team));
        Assert.Equal(2, (long)await redis.Db.HashGetAsync(_keys.TagValue(bucket, "team", Month, team), "requests"));
        Assert.Equal(1_500, await redis.Db.SortedSetScoreAsync(_keys.TagUsers(bucket, "team", Month, team), user));
    }

    [Fact]
    public async Task A_delta_the_fold_cannot_read_is_moved_to_the_rejected_list_and_the_others_are_folded()
    {
        var user = $"fold-bad-{Guid.NewGuid():N}";
        var team = $"t-{Guid.NewGuid().ToString("N")[..8]}";
        var bucket = _keys.BucketOf(user);
        byte[] notJson = "{\"id\":\"0123456789abcdef0123456789abcdef\",\"month\":"u8.ToArray();
        byte[] notText = [0xff, 0xfe, 0x00, 0x01];
        await redis.Db.KeyDeleteAsync(_keys.TagRejected(bucket));
        // Valid, unreadable, valid, unreadable and too short to hold an id (the fold's last).
        await Ledger.ApplyAsync([Event(user, team, 1_000)]);
        await redis.Db.ListRightPushAsync(_keys.TagDeltas(bucket), notJson);
        await Ledger.ApplyAsync([Event(user, team, 500)]);
        await redis.Db.ListRightPushAsync(_keys.TagDeltas(bucket), notText);

        var folder = Folder(batch: 100);
        Assert.Equal(4, await folder.FoldAsync(bucket));

        Assert.Equal(0, await redis.Db.ListLengthAsync(_keys.TagDeltas(bucket)));
        Assert.Equal(1_500, await CostAsync(team));
        Assert.Equal(2, (long)await redis.Db.HashGetAsync(_keys.TagValue(bucket, "team", Month, team), "requests"));
        var rejected = await redis.Db.ListRangeAsync(_keys.TagRejected(bucket));
        Assert.Equal([notJson, notText], rejected.Select(r => (byte[])r!));
    }
}
