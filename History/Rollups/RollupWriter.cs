using System.Diagnostics.Metrics;
using System.Text.Json;
using LlmCostTracker.Ledger;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using StackExchange.Redis;

namespace LlmCostTracker.History.Rollups;

/// <summary>Folds each ledger bucket's rollup stream (<see cref="LedgerKeys.RollupStream"/>, one entry per ledger call
/// that counted usage, appended in that call's atomic step) into PostgreSQL: up to
/// <see cref="HistoryOptions.BatchEntries"/> entries summed into one transaction that also records the last entry
/// (<see cref="RollupStore.ApplyAsync"/>), then those entries trimmed from the stream. A crash between the commit and
/// the trim re-reads entries the recorded progress skips, so each ledger write is added once. Ingestion never waits
/// on this: while PostgreSQL is slow or down the streams grow in Redis and the lag (the oldest entry not yet
/// applied) is a metric and the <c>history</c> health check's detail; rollups catch up when it is back.</summary>
public sealed partial class RollupWriter(
    IConnectionMultiplexer redis, LedgerKeys keys, NpgsqlDataSource dataSource, RollupStore store, IOptions<HistoryOptions> options,
    TimeProvider clock, IMeterFactory meters, ILogger<RollupWriter> logger) : BackgroundService, IHealthCheck
{
    public const string HealthCheckName = "history";

    private readonly Dictionary<int, StreamEntryId> _progress = [];
    // The factory owns the meter (and disposes it with the host).
    private readonly Meter _meter = meters.Create("LlmCostTracker");
    private Counter<long> Entries => field ??= _meter.CreateCounter<long>(
        "llmcost.history.rollup.entries", unit: "{entry}", description: "Ledger rollup stream entries added to the history database.");
    private Counter<long> Rejected => field ??= _meter.CreateCounter<long>(
        "llmcost.history.rollup.rejected", unit: "{entry}", description: "Ledger rollup stream entries that could not be read, set aside in the bucket's rejected stream.");
    private long _rejectedEntries, _lagMilliseconds, _pendingEntries;
    private bool _migrated, _loaded;
    private DateOnly _retainedFrom;
    private volatile string? _failure;

    /// <summary>The age of the oldest usage counted in Redis and not yet in PostgreSQL (zero when caught up).</summary>
    public TimeSpan Lag => TimeSpan.FromMilliseconds(Interlocked.Read(ref _lagMilliseconds));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _meter.CreateObservableGauge(
            "llmcost.history.rollup.lag", () => Lag.TotalSeconds, unit: "s",
            description: "Age of the oldest usage counted in Redis and not yet rolled up into the history database.");
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var delay = options.Value.FlushInterval;
                try
                {
                    // Not waited for past the stop (Redis's calls take no token, and wait out their timeout with Redis
                    // down): a round cut short is redone from the progress PostgreSQL holds.
                    await PassAsync(stoppingToken).WaitAsync(stoppingToken);
                    if (_failure is not null)
                    {
                        LogRecovered(logger);
                        _failure = null;
                    }
                }
                catch (Exception ex) when (ex is NpgsqlException or RedisException or TimeoutException or System.Net.Sockets.SocketException or InvalidOperationException
                    && !stoppingToken.IsCancellationRequested)
                {
                    if (_failure is null)
                    {
                        LogFailed(logger, ex);
                    }

                    _failure = ex.Message;
                    _loaded = false;
                    delay = options.Value.RetryDelay;
                    await MeasureLagAsync().WaitAsync(stoppingToken);
                }

                await Task.Delay(delay, clock, stoppingToken);
            }
        }
        catch (Exception) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: a round cut short, or its connection disposed past the host's stop time, ends the loop quietly.
        }
    }

    /// <summary>One round: every bucket's stream up to its end, then the lag and (once a day) retention.</summary>
    public async Task PassAsync(CancellationToken ct)
    {
        if (!_migrated)
        {
            var applied = await HistorySchema.MigrateAsync(dataSource, ct);
            if (applied.Count > 0)
            {
                LogMigrated(logger, string.Join(", ", applied));
            }

            _migrated = true;
        }

        if (!_loaded)
        {
            _progress.Clear();
            foreach (var (bucket, last) in await store.ProgressAsync(ct))
            {
                _progress[bucket] = last;
            }

            _loaded = true;
        }

        var db = redis.GetDatabase();
        var batch = options.Value.BatchEntries;
        var now = clock.GetUtcNow();
        // The lag is measured from the entries this round reads anyway: the oldest first entry of any bucket.
        var oldest = TimeSpan.Zero;
        for (var bucket = 0; bucket < keys.Buckets; bucket++)
        {
            var first = true;
            var key = keys.RollupStream(bucket);
            while (true)
            {
                var after = _progress.GetValueOrDefault(bucket, StreamEntryId.Zero);
                var entries = await db.StreamRangeAsync(key, "(" + after, "+", batch);
                if (entries.Length == 0)
                {
                    break;
                }

                if (first && now - StreamEntryId.Parse(entries[0].Id!).AddedAt is var age && age > oldest)
                {
                    oldest = age;
                }

                first = false;

                var delta = await SumAsync(db, bucket, entries);
                var last = StreamEntryId.Parse(entries[^1].Id!);
                if (!await store.ApplyAsync(bucket, after, last, entries.Length, delta, ct))
                {
                    // Another worker moved this bucket's progress: read where it stands and go on from there.
                    _progress[bucket] = (await store.ProgressAsync(ct)).GetValueOrDefault(bucket, StreamEntryId.Zero);
                    continue;
                }

                _progress[bucket] = last;
                Entries.Add(entries.Length);
                // Entries up to the recorded progress are never read again; a failed trim only leaves them a while.
                await db.ExecuteAsync("XTRIM", key, "MINID", last.Next.ToString());
                if (entries.Length < batch)
                {
                    break;
                }
            }
        }

        Interlocked.Exchange(ref _lagMilliseconds, (long)oldest.TotalMilliseconds);
        Interlocked.Exchange(ref _pendingEntries, 0);
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        if (_retainedFrom != today)
        {
            var firstKept = today.AddDays(-(int)Math.Ceiling(options.Value.Retention.TotalDays));
            var deleted = await store.DeleteBeforeAsync(firstKept, ct);
            if (deleted > 0)
            {
                LogRetention(logger, deleted, firstKept);
            }

            _retainedFrom = today;
        }
    }

    /// <summary>The entries' sums. An entry that cannot be read (written by hand, or by a version that wrote another
    /// form) is set aside in the bucket's rejected stream under its own id, before the progress passes it: so it is
    /// kept for a person, the rollups go on, and a round retried after a failed commit sets it aside once (Redis
    /// refuses an id that is not after the stream's last).</summary>
    private async Task<RollupDelta> SumAsync(IDatabase db, int bucket, StreamEntry[] entries)
    {
        List<int>? rejected = null;
        while (true)
        {
            // A failed entry may have added part of itself: the sums start again without it (rare, so cheap enough).
            var delta = new RollupDelta();
            var failed = -1;
            Exception? error = null;
            for (var i = 0; i < entries.Length; i++)
            {
                if (rejected?.Contains(i) == true)
                {
                    continue;
                }

                try
                {
                    var duplicates = entries[i][LedgerKeys.RollupDuplicatesField];
                    delta.AddEncoded((byte[]?)entries[i][LedgerKeys.RollupStreamField], duplicates.IsNull ? default : (byte[])duplicates!);
                }
                catch (Exception ex) when (UnreadableEntry.Is(ex))
                {
                    (failed, error) = (i, ex);
                    break;
                }
            }

            if (error is null)
            {
                return delta;
            }

            (rejected ??= []).Add(failed);
            await SetAsideAsync(db, bucket, entries[failed], error);
        }
    }

    private async Task SetAsideAsync(IDatabase db, int bucket, StreamEntry entry, Exception error)
    {
        var fields = entry.Values.Append(new NameValueEntry(LedgerKeys.RollupRejectedErrorField, $"{error.GetType().Name}: {error.Message}")).ToArray();
        try
        {
            await db.StreamAddAsync(keys.RollupRejectedStream(bucket), fields, entry.Id);
        }
        catch (RedisServerException ex) when (ex.Message.Contains("equal or smaller", StringComparison.Ordinal))
        {
            // Set aside by an earlier round whose commit failed.
            return;
        }

        Interlocked.Increment(ref _rejectedEntries);
        Rejected.Add(1);
        LogRejected(logger, error, entry.Id.ToString(), bucket, keys.RollupRejectedStream(bucket));
    }

    /// <summary>While a round fails: the oldest entry after each bucket's progress (its id is the Redis clock when it
    /// was added) and how many entries wait.</summary>
    private async Task MeasureLagAsync()
    {
        try
        {
            var db = redis.GetDatabase();
            var now = clock.GetUtcNow();
            var oldest = TimeSpan.Zero;
            long pending = 0;
            var firsts = Enumerable.Range(0, keys.Buckets)
                .Select(b => db.StreamRangeAsync(keys.RollupStream(b), "(" + _progress.GetValueOrDefault(b, StreamEntryId.Zero), "+", 1))
                .ToArray();
            var lengths = Enumerable.Range(0, keys.Buckets).Select(b => db.StreamLengthAsync(keys.RollupStream(b))).ToArray();
            foreach (var first in await Task.WhenAll(firsts))
            {
                if (first.Length > 0 && now - StreamEntryId.Parse(first[0].Id!).AddedAt is var age && age > oldest)
                {
                    oldest = age;
                }
            }

            pending = (await Task.WhenAll(lengths)).Sum();
            Interlocked.Exchange(ref _lagMilliseconds, (long)oldest.TotalMilliseconds);
            Interlocked.Exchange(ref _pendingEntries, pending);
        }
        catch (RedisException)
        {
            // Redis down: ingestion is down too; the lag is measured again next round.
        }
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>
        {
            ["rollupLagSeconds"] = Math.Round(Lag.TotalSeconds, 1),
            ["streamEntries"] = Interlocked.Read(ref _pendingEntries),
            ["rejectedEntries"] = Interlocked.Read(ref _rejectedEntries),
        };
        var failure = _failure;
        if (failure is not null)
        {
            data["lastError"] = failure;
        }

        // Degraded (which /health answers with 503) only once usage has waited past LagDegradedAfter: a database that
        // is down with nothing waiting, or only briefly, is in the details only. Never Unhealthy: usage is still
        // counted in Redis, and the rollups catch up once PostgreSQL answers.
        var waiting = failure is null ? $"Rollups {Lag.TotalSeconds:0.0} s behind." : $"Rollups {Lag.TotalSeconds:0.0} s behind, waiting for the history database: {failure}";
        return Task.FromResult(Lag > options.Value.LagDegradedAfter
            ? HealthCheckResult.Degraded(waiting, data: data)
            : HealthCheckResult.Healthy(waiting, data));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "History schema migrated: {Migrations}")]
    private static partial void LogMigrated(ILogger logger, string migrations);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Daily rollups paused: the history database or Redis failed; usage is still counted and rollups catch up when it answers")]
    private static partial void LogFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Rollup stream entry {EntryId} of bucket {Bucket} could not be read and is not in the history database; it is set aside in {RejectedStream}")]
    private static partial void LogRejected(ILogger logger, Exception exception, string entryId, int bucket, string rejectedStream);

    [LoggerMessage(Level = LogLevel.Information, Message = "Daily rollups caught up with the history database again")]
    private static partial void LogRecovered(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "History retention: {Rows} daily rows before {FirstKept} deleted")]
    private static partial void LogRetention(ILogger logger, int rows, DateOnly firstKept);
}
