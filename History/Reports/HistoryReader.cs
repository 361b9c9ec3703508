using System.Runtime.CompilerServices;
using Npgsql;

namespace LlmCostTracker.History.Reports;

/// <summary>Sums of daily rows: cost in micro-USD and the token counters the reports show.</summary>
public readonly record struct HistoryCounters(long Cost, long Input, long Cached, long Output, long Requests, long CacheWrite, long Reasoning);

/// <summary>A period's rollups as the month report shows them.</summary>
public sealed record HistoryMonth(
    HistoryCounters Totals, long UserCount, IReadOnlyDictionary<string, HistoryCounters> Models, IReadOnlyList<(DateOnly Day, long CostMicros)> Days,
    IReadOnlyList<HistorySeries> TopUsers);

/// <summary>One user's (or one tag value's) rollups over a period: totals, per model, per day.</summary>
public sealed record HistorySeries(
    string Key, HistoryCounters Totals, IReadOnlyDictionary<string, HistoryCounters> Models, IReadOnlyList<(DateOnly Day, long CostMicros)> Days);

/// <summary>A row of <c>usage_daily</c>, as exported.</summary>
public sealed record UsageExportRow(
    DateOnly Day, string UserId, string Model, string Provider, string ServiceTier, long ContextBand, long Requests, long InputTokens,
    long CachedInputTokens, long CacheWriteInputTokens, long CacheWrite1hInputTokens, long AudioInputTokens, long OutputTokens,
    long ReasoningOutputTokens, long AudioOutputTokens, long CostMicros);

/// <summary>Reads the history database: a month (or any period of days) in the shape of the month reports, and the
/// daily rows for exports. Applies the schema once before its first read, so a read before the worker's first start
/// finds empty tables rather than none.</summary>
public sealed class HistoryReader(NpgsqlDataSource dataSource)
{
    private const string Sums =
        "coalesce(sum(cost_micros), 0)::bigint, coalesce(sum(input_tokens), 0)::bigint, coalesce(sum(cached_input_tokens), 0)::bigint, " +
        "coalesce(sum(output_tokens), 0)::bigint, coalesce(sum(requests), 0)::bigint, coalesce(sum(cache_write_input_tokens), 0)::bigint, " +
        "coalesce(sum(reasoning_output_tokens), 0)::bigint";

    private readonly SemaphoreSlim _schemaGate = new(1, 1);
    private volatile bool _schemaReady;

    /// <summary>The days [<paramref name="from"/>, <paramref name="to"/>) with their top <paramref name="top"/> users
    /// by cost; null when no row falls in them.</summary>
    public async Task<HistoryMonth?> PeriodAsync(DateOnly from, DateOnly to, int top, CancellationToken ct)
    {
        await EnsureSchemaAsync(ct);
        const string Where = "FROM usage_daily WHERE day >= $1 AND day < $2";
        await using var batch = dataSource.CreateBatch();
        Add(batch, $"SELECT {Sums}, count(DISTINCT user_id) {Where}", from, to);
        Add(batch, $"SELECT model, {Sums} {Where} GROUP BY model", from, to);
        Add(batch, $"SELECT day, coalesce(sum(cost_micros), 0)::bigint {Where} GROUP BY day ORDER BY day", from, to);
        Add(batch, $"SELECT user_id {Where} GROUP BY user_id ORDER BY sum(cost_micros) DESC, user_id LIMIT $3", from, to, top);
        await using var reader = await batch.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        var totals = ReadCounters(reader, 0);
        var userCount = reader.GetInt64(7);
        if (totals.Requests == 0 && userCount == 0)
        {
            return null;
        }

        await reader.NextResultAsync(ct);
        var models = await ReadModelsAsync(reader, ct);
        await reader.NextResultAsync(ct);
        var days = await ReadDaysAsync(reader, ct);
        await reader.NextResultAsync(ct);
        var topIds = new List<string>();
        while (await reader.ReadAsync(ct))
        {
            topIds.Add(reader.GetString(0));
        }

        await reader.DisposeAsync();
        return new HistoryMonth(totals, userCount, models, days, await UsersAsync(topIds, from, to, ct));
    }

    /// <summary>One user's days [<paramref name="from"/>, <paramref name="to"/>); null without a row.</summary>
    public async Task<HistorySeries?> UserAsync(string userId, DateOnly from, DateOnly to, CancellationToken ct)
    {
        await EnsureSchemaAsync(ct);
        return (await UsersAsync([userId], from, to, ct)).FirstOrDefault();
    }

    /// <summary>The users' days [<paramref name="from"/>, <paramref name="to"/>), in one round trip whatever their
    /// number; a user without a row is left out.</summary>
    private async Task<List<HistorySeries>> UsersAsync(IReadOnlyList<string> userIds, DateOnly from, DateOnly to, CancellationToken ct)
    {
        if (userIds.Count == 0)
        {
            return [];
        }

        const string Where = "FROM usage_daily WHERE user_id = ANY($3) AND day >= $1 AND day < $2";
        var ids = userIds.ToArray();
        await using var batch = dataSource.CreateBatch();
        Add(batch, $"SELECT user_id, model, {Sums} {Where} GROUP BY user_id, model", from, to, ids);
        Add(batch, $"SELECT user_id, day, coalesce(sum(cost_micros), 0)::bigint {Where} GROUP BY user_id, day ORDER BY day", from, to, ids);
        var series = await ReadSeriesAsync(batch, ct);
        return
        [
            .. ids.Where(series.ContainsKey).Select(id => series[id]),
        ];
    }

    /// <summary>The values of a tag dimension over the days [<paramref name="from"/>, <paramref name="to"/>) (or the one
    /// <paramref name="value"/>), each with its models and days, costliest first; one round trip.</summary>
    public async Task<List<HistorySeries>> TagValuesAsync(string dimension, DateOnly from, DateOnly to, string? value, CancellationToken ct)
    {
        await EnsureSchemaAsync(ct);
        var where = "FROM tag_daily WHERE dimension = $3 AND day >= $1 AND day < $2" + (value is null ? "" : " AND value = $4");
        await using var batch = dataSource.CreateBatch();
        Add(batch, $"SELECT value, model, {Sums} {where} GROUP BY value, model", from, to, dimension, value);
        Add(batch, $"SELECT value, day, coalesce(sum(cost_micros), 0)::bigint {where} GROUP BY value, day ORDER BY day", from, to, dimension, value);
        var series = await ReadSeriesAsync(batch, ct);
        return
        [
            .. series.Values.OrderByDescending(v => v.Totals.Cost).ThenBy(v => v.Key, StringComparer.Ordinal),
        ];
    }

    /// <summary>Runs a batch of two queries, (key, model, sums...) and (key, day, cost) ordered by day, into a series
    /// per key.</summary>
    private static async Task<Dictionary<string, HistorySeries>> ReadSeriesAsync(NpgsqlBatch batch, CancellationToken ct)
    {
        await using var reader = await batch.ExecuteReaderAsync(ct);
        var models = new Dictionary<string, Dictionary<string, HistoryCounters>>(StringComparer.Ordinal);
        while (await reader.ReadAsync(ct))
        {
            var key = reader.GetString(0);
            if (!models.TryGetValue(key, out var own))
            {
                models[key] = own = new Dictionary<string, HistoryCounters>(StringComparer.Ordinal);
            }

            own[reader.GetString(1)] = ReadCounters(reader, 2);
        }

        await reader.NextResultAsync(ct);
        var days = new Dictionary<string, List<(DateOnly, long)>>(StringComparer.Ordinal);
        while (await reader.ReadAsync(ct))
        {
            var key = reader.GetString(0);
            if (!days.TryGetValue(key, out var own))
            {
                days[key] = own = [];
            }

            own.Add((reader.GetFieldValue<DateOnly>(1), reader.GetInt64(2)));
        }

        return models.ToDictionary(
            m => m.Key, m => new HistorySeries(m.Key, Sum(m.Value.Values), m.Value, days.GetValueOrDefault(m.Key) ?? []), StringComparer.Ordinal);
    }

    private static HistoryCounters Sum(IEnumerable<HistoryCounters> counters) => counters.Aggregate(default(HistoryCounters), (a, b) => new HistoryCounters(
        a.Cost + b.Cost, a.Input + b.Input, a.Cached + b.Cached, a.Output + b.Output, a.Requests + b.Requests, a.CacheWrite + b.CacheWrite, a.Reasoning + b.Reasoning));

    /// <summary>The daily rows of the days [<paramref name="from"/>, <paramref name="to"/>] in key order, streamed from
    /// the database as they are read (nothing of the range is held in memory).</summary>
    public async IAsyncEnumerable<UsageExportRow> UsageRowsAsync(DateOnly from, DateOnly to, [EnumeratorCancellation] CancellationToken ct)
    {
        await EnsureSchemaAsync(ct);
        await using var command = dataSource.CreateCommand(
            "SELECT day, user_id, model, provider, service_tier, context_band, requests, input_tokens, cached_input_tokens, cache_write_input_tokens, " +
            "cache_write_1h_input_tokens, audio_input_tokens, output_tokens, reasoning_output_tokens, audio_output_tokens, cost_micros " +
            "FROM usage_daily WHERE day >= $1 AND day <= $2 ORDER BY day, user_id, model, provider, service_tier, context_band");
        command.Parameters.Add(new NpgsqlParameter<DateOnly> { TypedValue = from });
        command.Parameters.Add(new NpgsqlParameter<DateOnly> { TypedValue = to });
        await using var reader = await command.ExecuteReaderAsync(System.Data.CommandBehavior.SequentialAccess, ct);
        while (await reader.ReadAsync(ct))
        {
            yield return new UsageExportRow(
                reader.GetFieldValue<DateOnly>(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetInt64(5),
                reader.GetInt64(6), reader.GetInt64(7), reader.GetInt64(8), reader.GetInt64(9), reader.GetInt64(10), reader.GetInt64(11),
                reader.GetInt64(12), reader.GetInt64(13), reader.GetInt64(14), reader.GetInt64(15));
        }
    }

    internal async Task EnsureSchemaAsync(CancellationToken ct)
    {
        if (_schemaReady)
        {
            return;
        }

        await _schemaGate.WaitAsync(ct);
        try
        {
            if (!_schemaReady)
            {
                await HistorySchema.MigrateAsync(dataSource, ct);
                _schemaReady = true;
            }
        }
        finally
        {
            _schemaGate.Release();
        }
    }

    private static void Add(NpgsqlBatch batch, string sql, DateOnly from, DateOnly to, object? third = null, object? fourth = null)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.Add(new NpgsqlParameter<DateOnly> { TypedValue = from });
        command.Parameters.Add(new NpgsqlParameter<DateOnly> { TypedValue = to });
        foreach (var extra in new[] { third, fourth }.OfType<object>())
        {
            command.Parameters.Add(new NpgsqlParameter { Value = extra });
        }

        batch.BatchCommands.Add(command);
    }

    private static HistoryCounters ReadCounters(NpgsqlDataReader reader, int at) => new(
        reader.GetInt64(at), reader.GetInt64(at + 1), reader.GetInt64(at + 2), reader.GetInt64(at + 3), reader.GetInt64(at + 4),
        reader.GetInt64(at + 5), reader.GetInt64(at + 6));

    private static async Task<Dictionary<string, HistoryCounters>> ReadModelsAsync(NpgsqlDataReader reader, CancellationToken ct)
    {
        var models = new Dictionary<string, HistoryCounters>(StringComparer.Ordinal);
        while (await reader.ReadAsync(ct))
        {
            models[reader.GetString(0)] = ReadCounters(reader, 1);
        }

        return models;
    }

    private static async Task<List<(DateOnly Day, long CostMicros)>> ReadDaysAsync(NpgsqlDataReader reader, CancellationToken ct)
    {
        var days = new List<(DateOnly, long)>();
        while (await reader.ReadAsync(ct))
        {
            days.Add((reader.GetFieldValue<DateOnly>(0), reader.GetInt64(1)));
        }

        return days;
    }
}
