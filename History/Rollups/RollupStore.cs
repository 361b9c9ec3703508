using Npgsql;
using NpgsqlTypes;

namespace LlmCostTracker.History.Rollups;

/// <summary>The writes of the daily rollups: a delta added to <c>usage_daily</c> and <c>tag_daily</c> together with the
/// bucket's progress in one transaction, so a stream entry is added once whatever fails between.</summary>
public sealed class RollupStore(NpgsqlDataSource dataSource)
{
    private const string Counters =
        "requests, input_tokens, cached_input_tokens, cache_write_input_tokens, cache_write_1h_input_tokens, audio_input_tokens, " +
        "output_tokens, reasoning_output_tokens, audio_output_tokens, cost_micros";

    private static readonly string AddCounters = string.Join(", ", Counters.Split(", ").Select(c => $"{c} = t.{c} + EXCLUDED.{c}")) + ", updated_at = now()";

    private static readonly string UpsertUsage =
        $"INSERT INTO usage_daily AS t (day, user_id, model, provider, service_tier, context_band, {Counters}) " +
        "SELECT * FROM unnest($1::date[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], " +
        "$7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[], $16::bigint[]) " +
        $"ON CONFLICT (day, user_id, model, provider, service_tier, context_band) DO UPDATE SET {AddCounters}";

    private static readonly string UpsertTags =
        $"INSERT INTO tag_daily AS t (day, dimension, value, model, {Counters}) " +
        "SELECT * FROM unnest($1::date[], $2::text[], $3::text[], $4::text[], " +
        "$5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[]) " +
        $"ON CONFLICT (day, dimension, value, model) DO UPDATE SET {AddCounters}";

    /// <summary>Each bucket's last applied stream entry.</summary>
    public async Task<Dictionary<int, StreamEntryId>> ProgressAsync(CancellationToken ct)
    {
        var progress = new Dictionary<int, StreamEntryId>();
        await using var command = dataSource.CreateCommand("SELECT bucket, last_entry FROM rollup_progress");
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            progress[reader.GetInt32(0)] = StreamEntryId.Parse(reader.GetString(1));
        }

        return progress;
    }

    /// <summary>Adds <paramref name="delta"/>, the sum of the bucket's stream entries after <paramref name="after"/> up
    /// to <paramref name="last"/>, and moves the bucket's progress to <paramref name="last"/>. Writes nothing and
    /// returns false when the stored progress is not <paramref name="after"/> (another writer moved it: read again).</summary>
    public async Task<bool> ApplyAsync(int bucket, StreamEntryId after, StreamEntryId last, int entries, RollupDelta delta, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        // The lock is shared with every other writer and exclusive to a re-price, which reads and corrects the rows
        // with nothing added under it. One round trip with the claim of the bucket's progress row.
        await using (var claim = new NpgsqlBatch(connection, transaction))
        {
            var shared = new NpgsqlBatchCommand("SELECT pg_advisory_xact_lock_shared($1)");
            shared.Parameters.Add(new NpgsqlParameter<long> { TypedValue = Repricing.Repricer.Lock });
            claim.BatchCommands.Add(shared);
            var insert = new NpgsqlBatchCommand("INSERT INTO rollup_progress (bucket, last_entry, entries) VALUES ($1, '0-0', 0) ON CONFLICT (bucket) DO NOTHING");
            insert.Parameters.Add(new NpgsqlParameter<int> { TypedValue = bucket });
            claim.BatchCommands.Add(insert);
            await claim.ExecuteNonQueryAsync(ct);
        }

        await using (var read = new NpgsqlCommand("SELECT last_entry FROM rollup_progress WHERE bucket = $1 FOR UPDATE", connection, transaction))
        {
            read.Parameters.Add(new NpgsqlParameter<int> { TypedValue = bucket });
            var stored = StreamEntryId.Parse((string)(await read.ExecuteScalarAsync(ct))!);
            if (stored != after)
            {
                await transaction.RollbackAsync(ct);
                return false;
            }
        }

        var batch = new NpgsqlBatch(connection, transaction);
        await using (batch)
        {
            if (delta.Usage.Count > 0)
            {
                var rows = delta.Usage.ToArray();
                var command = new NpgsqlBatchCommand(UpsertUsage);
                AddKeyArrays(command.Parameters, rows.Select(r => r.Key).ToArray());
                AddCounterArrays(command, rows.Select(r => r.Value).ToArray());
                batch.BatchCommands.Add(command);
            }

            if (delta.Tags.Count > 0)
            {
                var rows = delta.Tags.ToArray();
                var command = new NpgsqlBatchCommand(UpsertTags);
                command.Parameters.Add(Array(NpgsqlDbType.Date, rows.Select(r => r.Key.Day)));
                command.Parameters.Add(Array(NpgsqlDbType.Text, rows.Select(r => r.Key.Dimension)));
                command.Parameters.Add(Array(NpgsqlDbType.Text, rows.Select(r => r.Key.Value)));
                command.Parameters.Add(Array(NpgsqlDbType.Text, rows.Select(r => r.Key.Model)));
                AddCounterArrays(command, rows.Select(r => r.Value).ToArray());
                batch.BatchCommands.Add(command);
            }

            var progress = new NpgsqlBatchCommand(
                "UPDATE rollup_progress SET last_entry = $2, entries = entries + $3, updated_at = now() WHERE bucket = $1");
            progress.Parameters.Add(new NpgsqlParameter<int> { TypedValue = bucket });
            progress.Parameters.Add(new NpgsqlParameter<string> { TypedValue = last.ToString() });
            progress.Parameters.Add(new NpgsqlParameter<long> { TypedValue = entries });
            batch.BatchCommands.Add(progress);
            await batch.ExecuteNonQueryAsync(ct);
        }

        await transaction.CommitAsync(ct);
        return true;
    }

    /// <summary>Deletes the days before <paramref name="firstKept"/> (retention); returns the rows deleted.</summary>
    public async Task<int> DeleteBeforeAsync(DateOnly firstKept, CancellationToken ct)
    {
        await using var batch = dataSource.CreateBatch();
        foreach (var table in new[] { "usage_daily", "tag_daily" })
        {
            var command = new NpgsqlBatchCommand($"DELETE FROM {table} WHERE day < $1");
            command.Parameters.Add(new NpgsqlParameter<DateOnly> { TypedValue = firstKept });
            batch.BatchCommands.Add(command);
        }

        return await batch.ExecuteNonQueryAsync(ct);
    }

    private static void AddCounterArrays(NpgsqlBatchCommand command, RollupCounters[] counters)
    {
        command.Parameters.Add(Array(NpgsqlDbType.Bigint, counters.Select(c => c.Requests)));
        command.Parameters.Add(Array(NpgsqlDbType.Bigint, counters.Select(c => c.Input)));
        command.Parameters.Add(Array(NpgsqlDbType.Bigint, counters.Select(c => c.Cached)));
        command.Parameters.Add(Array(NpgsqlDbType.Bigint, counters.Select(c => c.CacheWrite)));
        command.Parameters.Add(Array(NpgsqlDbType.Bigint, counters.Select(c => c.CacheWrite1h)));
        command.Parameters.Add(Array(NpgsqlDbType.Bigint, counters.Select(c => c.AudioInput)));
        command.Parameters.Add(Array(NpgsqlDbType.Bigint, counters.Select(c => c.Output)));
        command.Parameters.Add(Array(NpgsqlDbType.Bigint, counters.Select(c => c.Reasoning)));
        command.Parameters.Add(Array(NpgsqlDbType.Bigint, counters.Select(c => c.AudioOutput)));
        command.Parameters.Add(Array(NpgsqlDbType.Bigint, counters.Select(c => c.CostMicros)));
    }

    /// <summary>A <c>usage_daily</c> key's six columns as arrays, for <c>unnest</c>.</summary>
    internal static void AddKeyArrays(NpgsqlParameterCollection parameters, UsageKey[] keys)
    {
        parameters.Add(Array(NpgsqlDbType.Date, keys.Select(k => k.Day)));
        parameters.Add(Array(NpgsqlDbType.Text, keys.Select(k => k.UserId)));
        parameters.Add(Array(NpgsqlDbType.Text, keys.Select(k => k.Model)));
        parameters.Add(Array(NpgsqlDbType.Text, keys.Select(k => k.Provider)));
        parameters.Add(Array(NpgsqlDbType.Text, keys.Select(k => k.ServiceTier)));
        parameters.Add(Array(NpgsqlDbType.Bigint, keys.Select(k => k.ContextBand)));
    }

    internal static NpgsqlParameter Array<T>(NpgsqlDbType type, IEnumerable<T> values) =>
        new() { NpgsqlDbType = NpgsqlDbType.Array | type, Value = values.ToArray() };
}
