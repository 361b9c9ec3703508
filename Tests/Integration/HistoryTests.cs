using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using LlmCostTracker.Ledger;
using StackExchange.Redis;

namespace LlmCostTracker.Tests.Integration;

/// <summary>Months kept in PostgreSQL: the daily rollups against what Redis counted, the month report served from
/// history once Redis has nothing of the month, and the export.</summary>
[Collection(HistoryCollection.Name)]
public sealed class HistoryTests(HistoryAppFixture app)
{
    [Fact]
    public async Task A_past_month_reads_the_same_from_history_after_Redis_is_emptied()
    {
        var now = DateTime.UtcNow;
        // The 27th and 28th of last month: always within the API's 35 days.
        var monthStart = new DateTime(now.Year, now.Month, 1, 0, 0, 0, DateTimeKind.Utc).AddMonths(-1);
        var month = monthStart.ToString("yyyy-MM", CultureInfo.InvariantCulture);
        var (a, b, c) = (AppFixture.NewUser("history-a"), AppFixture.NewUser("history-b"), AppFixture.NewUser("history-c"));
        var events = new List<object>();
        for (var i = 0; i < 12; i++)
        {
            var user = (i % 3) switch { 0 => a, 1 => b, _ => c };
            var at = monthStart.AddDays(26 + (i % 2)).AddHours(9 + i);
            events.Add(i % 4 == 3
                // Long context (every token above 200k) in the batch tier: a row of its own.
                ? new { eventId = $"h-{i}-{user}", userId = user, model = "claude-sonnet-4-5", inputTokens = 250_000, cachedInputTokens = 10_000, outputTokens = 2_000, serviceTier = (string?)"batch", provider = (string?)"anthropic", occurredAt = at, tags = new Dictionary<string, string> { ["team"] = "ads" } }
                : new { eventId = $"h-{i}-{user}", userId = user, model = "gpt-4o", inputTokens = 1_000 + i, cachedInputTokens = 0, outputTokens = 500, serviceTier = (string?)null, provider = (string?)null, occurredAt = at, tags = new Dictionary<string, string> { ["team"] = "search" } });
        }

        await PostBatchAsync(events);
        // Posted again: every event a duplicate, nothing more counted, nothing more rolled up.
        await PostBatchAsync(events);
        // Two known events with two new ones in one message: the ledger call is refused and made again without the
        // known ones, so the rollup delta counts the new ones only.
        var more = new List<object>
        {
            events[0], events[1],
            new { eventId = $"h-new-1-{a}", userId = a, model = "gpt-4o", inputTokens = 700, cachedInputTokens = 0, outputTokens = 70, serviceTier = (string?)null, provider = (string?)null, occurredAt = monthStart.AddDays(26).AddHours(20), tags = new Dictionary<string, string> { ["team"] = "search" } },
            new { eventId = $"h-new-2-{b}", userId = b, model = "gpt-4o", inputTokens = 800, cachedInputTokens = 0, outputTokens = 80, serviceTier = (string?)null, provider = (string?)null, occurredAt = monthStart.AddDays(27).AddHours(20), tags = new Dictionary<string, string> { ["team"] = "search" } },
        };
        await PostBatchAsync(more);

        await app.WaitForRequestsAsync(a, 5, month);
        await app.WaitForRequestsAsync(b, 5, month);
        await app.WaitForRequestsAsync(c, 4, month);
        var fromRedis = await ReportAsync($"/api/v1/admin/llm-costs?month={month}");
        var userFromRedis = await ReportAsync($"/api/v1/admin/llm-costs/{a}?month={month}");
        Assert.Equal(14, (long)fromRedis["totals"]!["requests"]!);
        // Tag values are folded into Redis from the tag deltas a moment after the totals (until then a report of them
        // may come from history, which has no users per tag): wait until Redis lists search's three users and counts
        // all eleven of its events. The users are there once the first batch is folded, and the last message's two
        // new events may fold a moment later (a CI run compared a report without them against history).
        var searchFromRedis = await Eventually.ReturnsAsync(
            async () =>
            {
                using var response = await app.Api.SendAsync(app.Admin(HttpMethod.Get, $"/api/v1/admin/llm-costs/by/team/search?month={month}"));
                return response.StatusCode == HttpStatusCode.OK ? (await response.Content.ReadFromJsonAsync<JsonObject>())! : null;
            },
            r => r?["users"]!.AsArray().Count == 3 && (long)r["requests"]! == 11,
            because: "the tag fold of search's eleven events and three users");
        var teamsFromRedis = await Eventually.ReturnsAsync(
            () => ReportAsync($"/api/v1/admin/llm-costs/by/team?month={month}"),
            r => (decimal)r["totals"]!["costUsd"]! == (decimal)fromRedis["totals"]!["costUsd"]!,
            because: "both teams folded");

        // The export sums to the report, to the micro-dollar, once the rollups are in.
        var first = monthStart.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var last = monthStart.AddMonths(1).AddDays(-1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var rows = await Eventually.ReturnsAsync(
            () => ExportAsync(first, last, "csv"),
            r => r.Sum(row => long.Parse(row["requests"], CultureInfo.InvariantCulture)) >= 14,
            because: "the rollups to reach 14 requests");
        Assert.Equal(14, rows.Sum(row => long.Parse(row["requests"], CultureInfo.InvariantCulture)));
        Assert.Equal((decimal)fromRedis["totals"]!["costUsd"]!, rows.Sum(row => decimal.Parse(row["costUsd"], CultureInfo.InvariantCulture)));
        var longContext = Assert.Single(rows, r => r["userId"] == a && r["model"] == "claude-sonnet-4-5");
        Assert.Equal(("anthropic", "batch", "200000"), (longContext["provider"], longContext["serviceTier"], longContext["contextBand"]));
        Assert.Equal("10000", longContext["cachedInputTokens"]);

        var focus = await ExportAsync(first, last, "focus");
        Assert.Equal(rows.Count, focus.Count);
        Assert.Equal(rows.Sum(r => decimal.Parse(r["costUsd"], CultureInfo.InvariantCulture)),
            focus.Sum(r => decimal.Parse(r["BilledCost"], CultureInfo.InvariantCulture)));
        Assert.All(focus, r => Assert.Equal(r["BilledCost"], r["EffectiveCost"]));
        Assert.Contains(focus, r => r["SubAccountId"] == a && r["ResourceId"] == "claude-sonnet-4-5" && r["ChargePeriodStart"].EndsWith("T00:00:00Z", StringComparison.Ordinal));

        // Redis forgets everything; the month is served from PostgreSQL, the same in every figure.
        using (var admin = await ConnectionMultiplexer.ConnectAsync((await app.App.GetConnectionStringAsync("redis"))! + ",allowAdmin=true"))
        {
            foreach (var server in admin.GetServers())
            {
                await server.FlushAllDatabasesAsync();
            }
        }

        Assert.Empty(await app.UserTotalsAsync(a, month));
        var fromHistory = await ReportAsync($"/api/v1/admin/llm-costs?month={month}");
        var userFromHistory = await ReportAsync($"/api/v1/admin/llm-costs/{a}?month={month}");
        Assert.Equal(WithoutGeneratedAt(fromRedis), WithoutGeneratedAt(fromHistory));
        Assert.Equal(WithoutGeneratedAt(userFromRedis), WithoutGeneratedAt(userFromHistory));
        // Tags too, by model and by day; history keeps no users per tag value.
        Assert.Equal(WithoutGeneratedAt(teamsFromRedis), WithoutGeneratedAt(await ReportAsync($"/api/v1/admin/llm-costs/by/team?month={month}")));
        var searchFromHistory = await ReportAsync($"/api/v1/admin/llm-costs/by/team/search?month={month}");
        Assert.Empty(searchFromHistory["users"]!.AsArray());
        searchFromRedis!.Remove("users");
        searchFromHistory.Remove("users");
        Assert.Equal(WithoutGeneratedAt(searchFromRedis!), WithoutGeneratedAt(searchFromHistory));
    }

    [Fact]
    public async Task Ingestion_runs_while_PostgreSQL_is_stopped_and_the_rollups_catch_up_exactly()
    {
        var user = AppFixture.NewUser("history-outage");
        var today = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        await app.StopResourceAsync("postgres");
        var posted = 0;
        try
        {
            // 30 s of load with the database down: every post is accepted and counted in Redis.
            var outage = Stopwatch.StartNew();
            while (outage.Elapsed < TimeSpan.FromSeconds(30))
            {
                await FaultScenarios.PostAcceptedAsync(app, user, 10);
                posted += 10;
                await app.WaitForRequestsAsync(user, posted);
            }

            using var export = await app.Api.SendAsync(app.Admin(HttpMethod.Get, $"/api/v1/admin/exports/usage?from={today}&to={today}"));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, export.StatusCode);
        }
        finally
        {
            await app.StartResourceAsync("postgres");
        }

        await FaultScenarios.AssertExactTotalsAsync(app, user, posted);
        var rows = await Eventually.ReturnsAsync(
            async () => (await ExportAsync(today, today, "csv")).Where(r => r["userId"] == user).ToList(),
            r => r.Sum(row => long.Parse(row["requests"], CultureInfo.InvariantCulture)) >= posted,
            because: $"the rollups to catch up to {posted} requests");
        var row = Assert.Single(rows);
        Assert.Equal(posted, long.Parse(row["requests"], CultureInfo.InvariantCulture));
        Assert.Equal(posted * FaultScenarios.MicrosPerEvent / 1_000_000m, decimal.Parse(row["costUsd"], CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task A_rollup_entry_that_cannot_be_read_is_set_aside_and_the_rollups_go_on()
    {
        // An entry no ledger call wrote (a day that is no date): before, it stopped the worker's rollups for good.
        var db = app.Redis.GetDatabase();
        const string Unreadable = """{"u":[["not a day","u","gpt-4o","openai","standard",0,1,1,1,1,1,1,1,1,1]],"t":[]}""";
        var id = await db.StreamAddAsync(app.Keys.RollupStream(0), [new NameValueEntry(LedgerKeys.RollupStreamField, Unreadable)]);
        var user = AppFixture.NewUser("history-unreadable");
        var today = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        await FaultScenarios.PostAcceptedAsync(app, user, 3);

        var rejected = await Eventually.ReturnsAsync(
            () => db.StreamRangeAsync(app.Keys.RollupRejectedStream(0), id, id), entries => entries.Length == 1,
            because: $"the entry {id} to be set aside");
        Assert.Equal(Unreadable, (string?)rejected[0][LedgerKeys.RollupStreamField]);
        Assert.StartsWith("FormatException: ", (string?)rejected[0][LedgerKeys.RollupRejectedErrorField], StringComparison.Ordinal);

        // The rollups went on past it: the user's usage is in the history database, exactly.
        var rows = await Eventually.ReturnsAsync(
            async () => (await ExportAsync(today, today, "csv")).Where(r => r["userId"] == user).ToList(),
            r => r.Sum(row => long.Parse(row["requests"], CultureInfo.InvariantCulture)) >= 3,
            because: "the rollups to go on past the unreadable entry");
        Assert.Equal(3, long.Parse(Assert.Single(rows)["requests"], CultureInfo.InvariantCulture));
        await Eventually.ReturnsAsync(
            () => db.StreamRangeAsync(app.Keys.RollupStream(0), id, id), entries => entries.Length == 0,
            because: "the unreadable entry to be trimmed from the rollup stream once passed");
    }

    [Fact]
    public async Task A_worker_killed_under_load_loses_and_doubles_nothing_in_Redis_or_the_rollups()
    {
        var user = AppFixture.NewUser("history-kill");
        var today = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var posted = 0;
        using var stopLoad = new CancellationTokenSource();
        // Batches of 100 as fast as the API takes them, before, while and after the worker is gone.
        var load = Task.Run(async () =>
        {
            while (!stopLoad.IsCancellationRequested)
            {
                using var response = await app.PostBatchAsync(new { events = Enumerable.Range(0, 100).Select(_ => FaultScenarios.Event(user)).ToArray() });
                Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
                Interlocked.Add(ref posted, 100);
            }
        });

        try
        {
            // Killed (SIGKILL, no shutdown) while it is counting and rolling up.
            await Eventually.ReturnsAsync(() => app.UserTotalsAsync(user), t => t.GetValueOrDefault("requests") >= 2_000, because: "the worker to count 2,000");
            await Eventually.ReturnsAsync(() => ExportAsync(today, today, "csv"), r => r.Any(row => row["userId"] == user), because: "the first rollups");
            await app.KillResourceAsync("workerservice");
            var atKill = Volatile.Read(ref posted);
            await Eventually.ReturnsAsync(() => Task.FromResult(Volatile.Read(ref posted)), p => p >= atKill + 1_000, because: "1,000 more posted while the worker is gone");
            await app.StartResourceAsync("workerservice");
            var atStart = Volatile.Read(ref posted);
            await Eventually.ReturnsAsync(() => Task.FromResult(Volatile.Read(ref posted)), p => p >= atStart + 1_000, because: "1,000 more posted after the restart");
        }
        finally
        {
            await stopLoad.CancelAsync();
            await load;
        }

        await FaultScenarios.AssertExactTotalsAsync(app, user, posted);
        var rows = await Eventually.ReturnsAsync(
            async () => (await ExportAsync(today, today, "csv")).Where(r => r["userId"] == user).ToList(),
            r => r.Sum(row => long.Parse(row["requests"], CultureInfo.InvariantCulture)) >= posted,
            because: $"the rollups to reach {posted} requests");
        var row = Assert.Single(rows);
        Assert.Equal(posted, long.Parse(row["requests"], CultureInfo.InvariantCulture));
        Assert.Equal(posted * FaultScenarios.MicrosPerEvent / 1_000_000m, decimal.Parse(row["costUsd"], CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task An_export_names_the_field_it_refuses()
    {
        using var response = await app.Api.SendAsync(app.Admin(HttpMethod.Get, "/api/v1/admin/exports/usage?from=2026-13-01&to=2026-11-30&format=xml"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonObject>();
        var errors = problem!["errors"]!.AsObject();
        Assert.True(errors.ContainsKey("from"));
        Assert.True(errors.ContainsKey("format"));
    }

    private async Task PostBatchAsync(List<object> events)
    {
        using var response = await app.PostBatchAsync(new { events });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    private async Task<JsonObject> ReportAsync(string path)
    {
        using var response = await app.Api.SendAsync(app.Admin(HttpMethod.Get, path));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    private async Task<List<Dictionary<string, string>>> ExportAsync(string from, string to, string format)
    {
        using var response = await app.Api.SendAsync(app.Admin(HttpMethod.Get, $"/api/v1/admin/exports/usage?from={from}&to={to}&format={format}"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        var lines = (await response.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var header = lines[0].Split(',');
        // The test's values hold no comma; FOCUS's Tags (JSON) is quoted and left out here.
        return [.. lines.Skip(1).Select(line => Fields(line).Zip(header).ToDictionary(p => p.Second, p => p.First))];
    }

    private static IEnumerable<string> Fields(string line)
    {
        var quoted = line.IndexOf('"', StringComparison.Ordinal);
        if (quoted < 0)
        {
            return line.Split(',');
        }

        var end = line.LastIndexOf('"');
        var before = line[..quoted].TrimEnd(',').Split(',');
        var after = line[(end + 1)..].TrimStart(',').Split(',');
        return [.. before, line[quoted..(end + 1)], .. after];
    }

    private static string WithoutGeneratedAt(JsonObject report)
    {
        var copy = report.DeepClone().AsObject();
        copy.Remove("generatedAt");
        return copy.ToJsonString();
    }
}
