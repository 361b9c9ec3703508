using System.Text.Json;
using LlmCostTracker.Contracts;
using LlmCostTracker.History.Reports;
using LlmCostTracker.History.Rollups;
using LlmCostTracker.Ledger;
using LlmCostTracker.Pricing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using StackExchange.Redis;

namespace LlmCostTracker.History.Repricing;

/// <summary>Re-prices the daily rows of a range of days with the prices in force (after an override or a catalog
/// update). In order:
/// <list type="number">
/// <item>Waits (up to <see cref="HistoryOptions.RepriceCatchUpTimeout"/>) until every worker prices with the current
/// prices and the rollups hold everything the ledger had counted by then, so every row priced with the old prices is
/// in PostgreSQL and nothing priced later with them can arrive after.</item>
/// <item>In one transaction holding <see cref="Lock"/> (the rollup writer takes it shared, so no rollup lands in
/// between): reads the rows, prices each (<see cref="RepricePlan"/>), writes the changed costs and the audit record
/// (<c>reprice_runs</c>), with the corrections of the months Redis still holds.</item>
/// <item>Applies those corrections to Redis, one script call per bucket, month and part, each once (a marker key per
/// part, set in the same atomic step), then marks the run applied. A run left unmarked (the API stopped between) is
/// finished by the next re-price.</item>
/// </list>
/// A dry run does the first two steps' reading and pricing and writes nothing.</summary>
public sealed class Repricer(
    NpgsqlDataSource dataSource, HistoryReader reader, RollupStore rollups, IConnectionMultiplexer redis, LedgerKeys keys,
    IOptions<HistoryOptions> options, TimeProvider clock, ILogger<Repricer> logger)
{
    /// <summary>The advisory lock a re-price holds alone and the rollup writer shares.</summary>
    public const long Lock = 0x4c4c4d_52505243;

    private const string RowColumns =
        "day, user_id, model, provider, service_tier, context_band, requests, input_tokens, cached_input_tokens, cache_write_input_tokens, " +
        "cache_write_1h_input_tokens, audio_input_tokens, output_tokens, reasoning_output_tokens, audio_output_tokens, cost_micros";

    /// <summary>Runs a re-price. <paramref name="pricesEverywhere"/> answers whether every live worker prices with the
    /// current prices. Returns the result and, when applied, the users whose current month changed (their thresholds
    /// are to be re-evaluated).</summary>
    public async Task<(RepriceResult Result, IReadOnlyList<string> CurrentMonthUsers)> RunAsync(
        RepriceRequest request, PriceBook book, RepriceVersions versions, string actor, Func<CancellationToken, Task<bool>> pricesEverywhere,
        CancellationToken ct)
    {
        await reader.EnsureSchemaAsync(ct);
        await WaitUntilCaughtUpAsync(pricesEverywhere, ct);
        await FinishPendingAsync(ct);

        var plan = new RepricePlan(book, request.Models);
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1)", connection, transaction))
        {
            lockCommand.Parameters.Add(new NpgsqlParameter<long> { TypedValue = Lock });
            await lockCommand.ExecuteNonQueryAsync(ct);
        }

        await using (var read = new NpgsqlCommand($"SELECT {RowColumns} FROM usage_daily WHERE day >= $1 AND day <= $2", connection, transaction))
        {
            read.Parameters.Add(new NpgsqlParameter<DateOnly> { TypedValue = request.From });
            read.Parameters.Add(new NpgsqlParameter<DateOnly> { TypedValue = request.To });
            await using var rows = await read.ExecuteReaderAsync(ct);
            while (await rows.ReadAsync(ct))
            {
                var key = new UsageKey(rows.GetFieldValue<DateOnly>(0), rows.GetString(1), rows.GetString(2), rows.GetString(3), rows.GetString(4), rows.GetInt64(5));
                var counters = new RollupCounters
                {
                    Requests = rows.GetInt64(6), Input = rows.GetInt64(7), Cached = rows.GetInt64(8), CacheWrite = rows.GetInt64(9),
                    CacheWrite1h = rows.GetInt64(10), AudioInput = rows.GetInt64(11), Output = rows.GetInt64(12), Reasoning = rows.GetInt64(13),
                    AudioOutput = rows.GetInt64(14), CostMicros = rows.GetInt64(15),
                };
                plan.Add(key, counters);
            }
        }

        var listed = options.Value.RepriceUsersListed;
        var now = clock.GetUtcNow();
        var corrections = RepriceLedgerCall.Corrections(plan.Changes, now);
        if (request.DryRun)
        {
            await transaction.RollbackAsync(ct);
            return (RepriceResult.Of(request, versions, plan, runId: null, corrections.Count, listed), []);
        }

        if (plan.Changes.Count > 0)
        {
            await UpdateRowsAsync(connection, transaction, plan.Changes, ct);
        }

        var result = RepriceResult.Of(request, versions, plan, runId: null, corrections.Count, listed);
        long run;
        await using (var audit = new NpgsqlCommand(
            "INSERT INTO reprice_runs (actor, from_day, to_day, models, pricing_version, catalog_version, rows_examined, rows_changed, " +
            "cost_before_micros, cost_after_micros, changes, redis_deltas, redis_applied_at) " +
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12::jsonb, CASE WHEN $13 THEN now() END) RETURNING id", connection, transaction))
        {
            audit.Parameters.Add(new NpgsqlParameter<string> { TypedValue = actor });
            audit.Parameters.Add(new NpgsqlParameter<DateOnly> { TypedValue = request.From });
            audit.Parameters.Add(new NpgsqlParameter<DateOnly> { TypedValue = request.To });
            audit.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = result.Models is { } m ? m.ToArray() : (object)DBNull.Value });
            audit.Parameters.Add(new NpgsqlParameter<long> { TypedValue = versions.Pricing });
            audit.Parameters.Add(new NpgsqlParameter<long> { TypedValue = versions.Catalog });
            audit.Parameters.Add(new NpgsqlParameter<long> { TypedValue = plan.RowsExamined });
            audit.Parameters.Add(new NpgsqlParameter<long> { TypedValue = plan.Changes.Count });
            audit.Parameters.Add(new NpgsqlParameter<long> { TypedValue = plan.Changes.Sum(c => c.Before) });
            audit.Parameters.Add(new NpgsqlParameter<long> { TypedValue = plan.Changes.Sum(c => c.After) });
            audit.Parameters.Add(new NpgsqlParameter<string> { TypedValue = JsonSerializer.Serialize(new AuditChanges(result.ByModel, [.. RepriceResult.UserChanges(plan).OrderBy(u => u.UserId, StringComparer.Ordinal)]), JsonSerializerOptions.Web) });
            audit.Parameters.Add(new NpgsqlParameter<string> { TypedValue = RepriceLedgerCall.Serialize(corrections) });
            audit.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = corrections.Count == 0 });
            run = (long)(await audit.ExecuteScalarAsync(ct))!;
        }

        await transaction.CommitAsync(ct);
        logger.LogInformation("Re-price {Run} of {From}..{To} by {Actor}: {Changed} of {Examined} rows changed, {Delta} USD",
            run, request.From, request.To, actor, plan.Changes.Count, plan.RowsExamined, result.DeltaUsd);

        if (corrections.Count > 0)
        {
            await ApplyLedgerAsync(run, corrections, ct);
        }

        var month = UsageMonth.Of(now);
        var currentMonthUsers = plan.Changes
            .Where(c => c.Key.Day.Year == month.Year && c.Key.Day.Month == month.Month && c.Delta != 0)
            .Select(c => c.Key.UserId).Distinct(StringComparer.Ordinal).ToList();
        return (result with { RunId = run }, currentMonthUsers);
    }

    /// <summary>The audit records, newest first.</summary>
    public async Task<IReadOnlyList<RepriceRun>> RunsAsync(int limit, CancellationToken ct)
    {
        await reader.EnsureSchemaAsync(ct);
        await using var command = dataSource.CreateCommand(
            "SELECT id, at, actor, from_day, to_day, models, pricing_version, catalog_version, rows_examined, rows_changed, " +
            "cost_before_micros, cost_after_micros, changes::text, redis_applied_at FROM reprice_runs ORDER BY id DESC LIMIT $1");
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        await using var rows = await command.ExecuteReaderAsync(ct);
        var runs = new List<RepriceRun>();
        while (await rows.ReadAsync(ct))
        {
            var changes = JsonSerializer.Deserialize<AuditChanges>(rows.GetString(12), JsonSerializerOptions.Web)!;
            var before = rows.GetInt64(10);
            var after = rows.GetInt64(11);
            runs.Add(new RepriceRun(
                rows.GetInt64(0), rows.GetFieldValue<DateTimeOffset>(1), rows.GetString(2), rows.GetFieldValue<DateOnly>(3), rows.GetFieldValue<DateOnly>(4),
                rows.IsDBNull(5) ? null : rows.GetFieldValue<string[]>(5), rows.GetInt64(6), rows.GetInt64(7), rows.GetInt64(8), rows.GetInt64(9),
                RepriceResult.Usd(before), RepriceResult.Usd(after), RepriceResult.Usd(after - before), changes.Models, changes.Users,
                rows.IsDBNull(13) ? null : rows.GetFieldValue<DateTimeOffset>(13)));
        }

        return runs;
    }

    private static async Task UpdateRowsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, List<RowChange> changes, CancellationToken ct)
    {
        await using var update = new NpgsqlCommand(
            "UPDATE usage_daily AS t SET cost_micros = v.cost, updated_at = now() " +
            "FROM unnest($1::date[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[]) " +
            "AS v(day, user_id, model, provider, service_tier, context_band, cost) " +
            "WHERE t.day = v.day AND t.user_id = v.user_id AND t.model = v.model AND t.provider = v.provider " +
            "AND t.service_tier = v.service_tier AND t.context_band = v.context_band", connection, transaction);
        RollupStore.AddKeyArrays(update.Parameters, [.. changes.Select(c => c.Key)]);
        update.Parameters.Add(RollupStore.Array(NpgsqlDbType.Bigint, changes.Select(c => c.After)));
        var updated = await update.ExecuteNonQueryAsync(ct);
        if (updated != changes.Count)
        {
            // Under the lock nothing else writes these rows, so this is a bug: the transaction is not committed.
            throw new InvalidOperationException($"A re-price updated {updated} rows of the {changes.Count} it read.");
        }
    }

    /// <summary>Waits until every worker prices with the current prices, then until the rollups hold every ledger call
    /// made by then (each bucket's progress at or past its stream's last entry).</summary>
    private async Task WaitUntilCaughtUpAsync(Func<CancellationToken, Task<bool>> pricesEverywhere, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(options.Value.RepriceCatchUpTimeout);
        var poll = options.Value.RepricePollInterval;
        var waitingFor = "every worker to price with the current prices";
        try
        {
            while (!await pricesEverywhere(timeout.Token))
            {
                await Task.Delay(poll, clock, timeout.Token);
            }

            waitingFor = "the rollups to catch up with the ledger";
            var db = redis.GetDatabase();
            var tails = new Dictionary<int, StreamEntryId>();
            for (var bucket = 0; bucket < keys.Buckets; bucket++)
            {
                var last = await db.StreamRangeAsync(keys.RollupStream(bucket), "-", "+", count: 1, messageOrder: Order.Descending);
                if (last.Length > 0)
                {
                    tails[bucket] = StreamEntryId.Parse(last[0].Id!);
                }
            }

            while (true)
            {
                var progress = await rollups.ProgressAsync(timeout.Token);
                if (tails.All(t => progress.TryGetValue(t.Key, out var applied) && applied >= t.Value))
                {
                    return;
                }

                await Task.Delay(poll, clock, timeout.Token);
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new RepriceNotReadyException(
                $"Waited History:RepriceCatchUpTimeout ({options.Value.RepriceCatchUpTimeout}) for {waitingFor}; nothing was changed. Try again.");
        }
    }

    /// <summary>Applies the Redis corrections of runs committed without them (the API stopped in between).</summary>
    private async Task FinishPendingAsync(CancellationToken ct)
    {
        var pending = new List<(long Run, string Deltas)>();
        await using (var command = dataSource.CreateCommand("SELECT id, redis_deltas::text FROM reprice_runs WHERE redis_applied_at IS NULL ORDER BY id"))
        await using (var rows = await command.ExecuteReaderAsync(ct))
        {
            while (await rows.ReadAsync(ct))
            {
                pending.Add((rows.GetInt64(0), rows.GetString(1)));
            }
        }

        foreach (var (run, deltas) in pending)
        {
            logger.LogWarning("Re-price {Run} was committed without its Redis corrections; applying them now", run);
            await ApplyLedgerAsync(run, RepriceLedgerCall.Deserialize(deltas), ct);
        }
    }

    private async Task ApplyLedgerAsync(long run, IReadOnlyList<LedgerCorrection> corrections, CancellationToken ct)
    {
        var db = redis.GetDatabase();
        long applied = 0, repeated = 0;
        foreach (var (redisKeys, args) in RepriceLedgerCall.Encode(keys, run, corrections, options.Value.RepriceCorrectionsPerCall, clock.GetUtcNow()))
        {
            if (RepriceLedgerCall.Decode(await RepriceLedgerCall.Script.EvaluateAsync(db, redisKeys, args)) is { } n)
            {
                applied += n;
            }
            else
            {
                repeated++;
            }
        }

        logger.LogInformation("Re-price {Run}: {Applied} of {Corrections} Redis corrections applied to live months ({Repeated} parts were already in)",
            run, applied, corrections.Count, repeated);

        await using var mark = dataSource.CreateCommand("UPDATE reprice_runs SET redis_applied_at = now() WHERE id = $1");
        mark.Parameters.Add(new NpgsqlParameter<long> { TypedValue = run });
        await mark.ExecuteNonQueryAsync(ct);
    }

    private sealed record AuditChanges(IReadOnlyList<RepriceModelChange> Models, IReadOnlyList<RepriceUserChange> Users);
}
