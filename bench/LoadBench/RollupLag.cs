using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;

/// <summary>The rollup lag as a user sees it: after a phase whose totals are exact in Redis (the admin report), how
/// long until the history database holds every one of the month's requests too.</summary>
internal sealed class RollupLag(string connectionString, Uri api, string adminKey) : IAsyncDisposable
{
    private readonly NpgsqlDataSource _db = NpgsqlDataSource.Create(connectionString);
    private readonly HttpClient _http = new() { BaseAddress = api };

    /// <summary>Seconds from now until PostgreSQL's requests of this month equal Redis's; null past the bound.</summary>
    public async Task<string> CatchUpAsync(TimeSpan bound)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/admin/llm-costs?top=1");
        request.Headers.Add("X-Admin-Key", adminKey);
        using var response = await _http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        var counted = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("totals").GetProperty("requests").GetInt64();
        var monthStart = new DateOnly(DateTime.UtcNow.Year, DateTime.UtcNow.Month, 1);
        var watch = Stopwatch.StartNew();
        long rolledUp = 0;
        while (watch.Elapsed < bound)
        {
            await using var command = _db.CreateCommand("SELECT coalesce(sum(requests), 0)::bigint FROM usage_daily WHERE day >= $1");
            command.Parameters.Add(new NpgsqlParameter<DateOnly> { TypedValue = monthStart });
            rolledUp = (long)(await command.ExecuteScalarAsync())!;
            if (rolledUp >= counted)
            {
                return string.Create(CultureInfo.InvariantCulture, $"{watch.Elapsed.TotalSeconds:N1} s after the totals were exact in Redis ({rolledUp:N0} requests in PostgreSQL, {counted:N0} in Redis)");
            }

            await Task.Delay(50);
        }

        return string.Create(CultureInfo.InvariantCulture, $"not within {bound.TotalSeconds:N0} s ({rolledUp:N0} of {counted:N0} requests)");
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _db.DisposeAsync();
    }
}
