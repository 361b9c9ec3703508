using System.Reflection;
using Npgsql;

namespace LlmCostTracker.History;

/// <summary>The history database's schema: the embedded <c>Schema/*.sql</c> files, applied in name order, each once,
/// recorded in <c>history_migrations</c>. Every service that opens the database applies what is missing; a
/// transaction-scoped advisory lock lets one do it at a time, and PostgreSQL's transactional DDL makes a migration
/// all or nothing.</summary>
public static class HistorySchema
{
    // Any constant shared by every service of this product: the lock only orders migrations among them.
    private const long MigrationLock = 0x4c4c4d_434f5354;

    public static IReadOnlyList<(string Id, string Sql)> Migrations { get; } = Load();

    /// <summary>Applies the migrations not yet applied; returns their ids.</summary>
    public static async Task<IReadOnlyList<string>> MigrateAsync(NpgsqlDataSource dataSource, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using (var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1)", connection, transaction))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = MigrationLock });
            await command.ExecuteNonQueryAsync(ct);
        }

        await using (var command = new NpgsqlCommand(
            "CREATE TABLE IF NOT EXISTS history_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())", connection, transaction))
        {
            await command.ExecuteNonQueryAsync(ct);
        }

        var applied = new HashSet<string>(StringComparer.Ordinal);
        await using (var command = new NpgsqlCommand("SELECT id FROM history_migrations", connection, transaction))
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                applied.Add(reader.GetString(0));
            }
        }

        var done = new List<string>();
        foreach (var (id, sql) in Migrations.Where(m => !applied.Contains(m.Id)))
        {
            await using (var command = new NpgsqlCommand(sql, connection, transaction))
            {
                await command.ExecuteNonQueryAsync(ct);
            }

            await using (var record = new NpgsqlCommand("INSERT INTO history_migrations (id) VALUES ($1)", connection, transaction))
            {
                record.Parameters.Add(new NpgsqlParameter { Value = id });
                await record.ExecuteNonQueryAsync(ct);
            }

            done.Add(id);
        }

        await transaction.CommitAsync(ct);
        return done;
    }

    private static List<(string Id, string Sql)> Load()
    {
        var assembly = typeof(HistorySchema).Assembly;
        return
        [
            .. assembly.GetManifestResourceNames()
                .Where(n => n.EndsWith(".sql", StringComparison.Ordinal))
                .Order(StringComparer.Ordinal)
                .Select(n => (Path.GetFileNameWithoutExtension(n), Read(assembly, n))),
        ];
    }

    private static string Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
