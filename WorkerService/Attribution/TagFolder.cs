using System.Buffers;
using System.Diagnostics.Metrics;
using System.Text.Json;
using LlmCostTracker.Contracts;
using LlmCostTracker.Ledger;
using LlmCostTracker.Ledger.Tags;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmCostTracker.WorkerService.Attribution;

/// <summary>Folds each bucket's tag deltas (one per ledger call with tagged usage, appended in the call's atomic
/// step) into its tag values' hashes, users and dimension indexes, every <see cref="AttributionOptions.FoldInterval"/>:
/// up to <see cref="AttributionOptions.FoldBatch"/> deltas read, merged here, written and removed in one atomic
/// script call (<c>Ledger/Scripts/fold-tags.lua</c>), so each is folded exactly once, by whichever worker gets there first.
/// Writing a tag value once per fold rather than once per ledger call is what keeps tags off the ledger's hot path
/// (BENCHMARKS.md). The budgets of the values folded are checked after each fold.</summary>
public sealed class TagFolder(
    IConnectionMultiplexer redis, LedgerKeys keys, TagAttribution attribution, IOptions<AttributionOptions> options, IMeterFactory meters, ILogger<TagFolder> logger)
    : BackgroundService
{
    private readonly Counter<long> _folded = meters.Create(WorkerMetrics.MeterName).CreateCounter<long>(
        "llmcost.tags.folded", "{delta}", "Tag deltas (ledger calls with tagged usage) folded into the tag values.");

    private readonly Counter<long> _rejected = meters.Create(WorkerMetrics.MeterName).CreateCounter<long>(
        "llmcost.tags.rejected", "{delta}", "Tag deltas the fold could not read, moved to the bucket's rejected list.");

    private long _lastFailureLog = long.MinValue;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // One bucket a tick, so each is folded every FoldInterval but the folds are spread over it: all buckets at
        // once held Redis (one thread a shard) for the whole burst, and the ledger writes queued behind it.
        using var timer = new PeriodicTimer(TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond, options.Value.FoldInterval.Ticks / keys.Buckets)));
        var bucket = 0;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                // Not waited for past the stop: with Redis down a fold waits out the client's timeout, which held
                // the worker's stop until its bound. A fold cut short is done again, whole, by the next start.
                await DrainAsync(bucket).WaitAsync(stoppingToken);
                bucket = (bucket + 1) % keys.Buckets;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Folds a bucket until fewer than a batch are waiting (or a fold fails: the next tick tries again).</summary>
    private async Task DrainAsync(int bucket)
    {
        while (await FoldAsync(bucket) >= options.Value.FoldBatch)
        {
        }
    }

    /// <summary>One fold of a bucket: the number of deltas folded (0 when none, another worker folded them first, or it failed).</summary>
    public async Task<int> FoldAsync(int bucket)
    {
        try
        {
            var db = redis.GetDatabase();
            var list = keys.TagDeltas(bucket);
            // The probe makes a span only when it finds deltas (an idle worker probes every few hundred
            // milliseconds): then the fold's own span is begun at the probe's start, with the probe under it.
            var probed = DateTimeOffset.UtcNow;
            var deltas = await db.ListRangeAsync(list, 0, options.Value.FoldBatch - 1);
            if (deltas.Length == 0)
            {
                return 0;
            }

            using var fold = RedisSpans.StartWork("fold tag deltas", probed);
            fold?.SetTag("llmcost.fold.deltas", deltas.Length);
            using (var probe = RedisSpans.Start("LRANGE", 1, probed))
            {
                probe?.SetEndTime(DateTime.UtcNow);
            }

            var merged = new Dictionary<(string Month, string Dimension, string Value), TagDelta.Sums>();
            List<(int Position, Exception Error)>? rejected = null;
            for (var position = 0; position < deltas.Length; position++)
            {
                (string Id, string Month, List<(string Dimension, string Value, TagDelta.Sums Sums)> Tags) read;
                try
                {
                    read = TagDelta.Read((byte[])deltas[position]!);
                }
                catch (Exception ex) when (UnreadableEntry.Is(ex))
                {
                    // Not one a ledger call wrote (added by hand, or by a version that wrote another form): the fold
                    // moves it to the rejected list instead of retrying it forever.
                    (rejected ??= []).Add((position, ex));
                    continue;
                }

                foreach (var (dimension, value, sums) in read.Tags)
                {
                    if (merged.TryGetValue((read.Month, dimension, value), out var into))
                    {
                        into.Add(sums);
                    }
                    else
                    {
                        merged[(read.Month, dimension, value)] = sums;
                    }
                }
            }

            var (redisKeys, payload, touched) = Encode(bucket, list, merged);
            RedisResult result;
            using (RedisSpans.Start("EVALSHA", 1))
            {
                result = await FoldTagsCall.Script.EvaluateAsync(db, redisKeys, FoldTagsCall.Args(
                    deltas.Length, TagDelta.IdOf((byte[])deltas[0]!), TagDelta.IdOf((byte[])deltas[^1]!), payload, rejected?.Select(r => r.Position)));
            }

            if ((int)result != 1)
            {
                return 0;
            }

            foreach (var (position, error) in rejected ?? [])
            {
                _rejected.Add(1);
                logger.LogError(error, "A tag delta of bucket {Bucket} (the fold's {Position}th) could not be read and is not in its tag values; it was moved to {RejectedList}",
                    bucket, position + 1, keys.TagRejected(bucket));
            }

            _folded.Add(deltas.Length);
            await attribution.CheckBudgetsAsync(touched);
            return deltas.Length;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Nothing is lost: deltas stay in the list until a fold of them succeeds; an alert whose publish failed
            // lost its claim, so the next fold that touches the value publishes it.
            var now = Environment.TickCount64;
            var last = Interlocked.Read(ref _lastFailureLog);
            if (now - last >= 10_000 && Interlocked.CompareExchange(ref _lastFailureLog, now, last) == last)
            {
                logger.LogWarning(ex, "Folding the tag deltas of bucket {Bucket} failed; the next fold tries again", bucket);
            }

            return 0;
        }
    }

    private (RedisKey[] Keys, byte[] Payload, List<(string Dimension, string Value, string Month)> Touched) Encode(
        int bucket, string list, Dictionary<(string Month, string Dimension, string Value), TagDelta.Sums> merged)
    {
        // The fold's own keys, then the tag values' (the payload names them by their 1-based position).
        var redisKeys = FoldTagsCall.Keys(list, keys.TagRejected(bucket));
        var indexes = new Dictionary<(string Dimension, string Month), int>();
        var touched = new List<(string Dimension, string Value, string Month)>();
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("n");
            foreach (var counter in LedgerKeys.Counters)
            {
                json.WriteStringValue(counter);
            }

            json.WriteEndArray();
            json.WriteNumber("r", LedgerKeys.RequestsPosition);
            json.WriteStartArray("t");
            foreach (var ((month, dimension, value), sums) in merged)
            {
                // A value whose every event of these calls was a duplicate: nothing to fold.
                if (sums.Counters[LedgerKeys.RequestsPosition - 1] == 0)
                {
                    continue;
                }

                if (!indexes.TryGetValue((dimension, month), out var index))
                {
                    redisKeys.Add(keys.TagIndex(bucket, dimension, month));
                    index = indexes[(dimension, month)] = redisKeys.Count;
                }

                redisKeys.Add(keys.TagValue(bucket, dimension, month, value));
                redisKeys.Add(keys.TagUsers(bucket, dimension, month, value));
                touched.Add((dimension, value, month));
                json.WriteStartObject();
                json.WriteNumber("k", redisKeys.Count - 1);
                json.WriteNumber("uk", redisKeys.Count);
                json.WriteNumber("ik", index);
                json.WriteString("v", value);
                json.WriteNumber("x", UsageMonth.Parse(month).ExpiresAt.ToUnixTimeSeconds());
                json.WriteStartArray("c");
                foreach (var counter in sums.Counters)
                {
                    json.WriteNumberValue(counter);
                }

                json.WriteEndArray();
                json.WriteStartArray("f");
                foreach (var (field, counters) in sums.Models)
                {
                    json.WriteStartArray();
                    json.WriteStringValue(field);
                    json.WriteStartArray();
                    foreach (var counter in counters)
                    {
                        json.WriteNumberValue(counter);
                    }

                    json.WriteEndArray();
                    json.WriteEndArray();
                }

                foreach (var (field, cost) in sums.Days)
                {
                    json.WriteStartArray();
                    json.WriteStringValue(field);
                    json.WriteNumberValue(cost);
                    json.WriteEndArray();
                }

                json.WriteEndArray();
                json.WriteStartArray("u");
                foreach (var (user, cost) in sums.Users)
                {
                    json.WriteStartArray();
                    json.WriteStringValue(user);
                    json.WriteNumberValue(cost);
                    json.WriteEndArray();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return ([.. redisKeys], buffer.WrittenSpan.ToArray(), touched);
    }
}
