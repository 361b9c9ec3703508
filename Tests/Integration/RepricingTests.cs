using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using LlmCostTracker.Ledger;

namespace LlmCostTracker.Tests.Integration;

/// <summary>Re-pricing history after a price correction: a dry run reports and changes nothing; applied, it changes
/// exactly the rows whose price changed, in PostgreSQL and in the month Redis holds, once; the thresholds the new
/// spend crosses fire; the audit records the run.</summary>
[Collection(HistoryCollection.Name)]
public sealed class RepricingTests(HistoryAppFixture app)
{
    [Fact]
    public async Task A_reprice_after_an_override_changes_exactly_the_affected_rows_once()
    {
        var model = $"acme-reprice-{Guid.NewGuid():N}";
        var user = AppFixture.NewUser("reprice");
        var at = DateTimeOffset.UtcNow;
        var day = at.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var month = at.UtcDateTime.ToString("yyyy-MM", CultureInfo.InvariantCulture);

        // A budget of $0.10 with alerts at 50, 80 and 100%: the spend as first priced stays under half of it.
        using (var budget = await app.Api.SendAsync(app.Admin(HttpMethod.Put, $"/api/v1/admin/budgets/{user}", new { monthlyBudgetUsd = 0.10m, thresholds = new[] { 50, 80, 100 } })))
        {
            Assert.Equal(HttpStatusCode.OK, budget.StatusCode);
        }

        // The model is unknown, so priced at the fallback (10 and 30 USD per 1M tokens): 40,000 + 60 µ$. Three tiny
        // gpt-4o requests cost 13 µ$ each (12.5 rounded) where their row priced once is 38 (37.5 rounded): a row
        // whose price did not change, whatever its rounding, must not change.
        object Event(string id, string m, int input, int output) =>
            new { eventId = $"{id}-{user}", userId = user, model = m, inputTokens = input, outputTokens = output, occurredAt = at };
        using (var posted = await app.PostBatchAsync(new
        {
            events = new[]
            {
                Event("a", model, 1_000, 1_000), Event("b", model, 3, 1), Event("c", "gpt-4o", 1_000, 500),
                Event("d", "gpt-4o", 1, 1), Event("e", "gpt-4o", 1, 1), Event("f", "gpt-4o", 1, 1),
            },
        }))
        {
            Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        }

        const long BeforeMicros = 40_060 + 7_500 + 39;
        var totals = await app.WaitForRequestsAsync(user, 6, month);
        Assert.Equal(BeforeMicros, totals["cost"]);
        await Eventually.ReturnsAsync(() => UserRowsAsync(day, user), rows => rows.Sum(r => r.Requests) == 6, because: "the rollups of the 6 requests");
        var monthBefore = await CostUsdAsync($"/api/v1/admin/llm-costs?month={month}");

        // The correction: the model's price since the day before (100 and 300 USD per 1M tokens): 400,000 + 600 µ$.
        using (var put = await app.Api.SendAsync(app.Admin(HttpMethod.Put, $"/api/v1/admin/pricing/models/{model}",
            new { input = 100, output = 300, effectiveFrom = new DateTimeOffset(at.UtcDateTime.Date, TimeSpan.Zero).AddDays(-1) })))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        await using var alerts = await AlertListener.StartAsync(app.AlertSubscriber, user);

        // A dry run (dryRun left out) reports the difference and changes nothing.
        var dry = await RepriceAsync(new { from = day, to = day });
        Assert.True((bool)dry["dryRun"]!);
        Assert.Null(dry["runId"]);
        Assert.Equal(1, (long)dry["rowsChanged"]!);
        var byModel = Assert.Single(dry["byModel"]!.AsArray());
        Assert.Equal((model, 0.04006m, 0.4006m, 0.36054m),
            ((string)byModel!["model"]!, (decimal)byModel["costBeforeUsd"]!, (decimal)byModel["costAfterUsd"]!, (decimal)byModel["deltaUsd"]!));
        var byUser = Assert.Single(dry["byUser"]!.AsArray());
        Assert.Equal((user, 0.36054m), ((string)byUser!["userId"]!, (decimal)byUser["deltaUsd"]!));
        Assert.Equal(BeforeMicros, (await app.UserTotalsAsync(user, month))["cost"]);
        Assert.Equal(40_060, (await UserRowsAsync(day, user)).Single(r => r.Model == model).CostMicros);

        // Applied: the model's row and the month in Redis (the user's total, the model's and the report's) change by
        // exactly the difference; the gpt-4o row stays.
        var applied = await RepriceAsync(new { from = day, to = day, dryRun = false });
        Assert.False((bool)applied["dryRun"]!);
        var run = (long)applied["runId"]!;
        Assert.Equal((1L, 0.36054m, true), ((long)applied["rowsChanged"]!, (decimal)applied["deltaUsd"]!, (bool)applied["thresholdsReevaluated"]!));
        var rows = await UserRowsAsync(day, user);
        Assert.Equal(400_600, rows.Single(r => r.Model == model).CostMicros);
        Assert.Equal(7_539, rows.Single(r => r.Model == "gpt-4o").CostMicros);
        const long AfterMicros = 400_600 + 7_539;
        Assert.Equal(AfterMicros, (await app.UserTotalsAsync(user, month))["cost"]);
        var modelField = await app.Redis.GetDatabase().HashGetAsync(app.Keys.UserMonth(user, month), LedgerKeys.ModelField(model));
        Assert.Equal(400_600, LedgerKeys.ParseModelCounters(modelField.ToString())[0]);
        Assert.Equal((double)AfterMicros, await app.MonthScoreAsync(user, month));
        Assert.Equal(monthBefore + 0.36054m, await CostUsdAsync($"/api/v1/admin/llm-costs?month={month}"));

        // The spend is now 408% of the budget: the thresholds it crosses fire, once each.
        await alerts.WaitForAsync(3);
        Assert.Equal([50, 80, 100], alerts.Received.Select(a => a.ThresholdPercent).Order());

        // Applied again: nothing more changes.
        var again = await RepriceAsync(new { from = day, to = day, dryRun = false });
        Assert.Equal((0L, 0m), ((long)again["rowsChanged"]!, (decimal)again["deltaUsd"]!));
        Assert.Equal(AfterMicros, (await app.UserTotalsAsync(user, month))["cost"]);
        Assert.Equal(400_600, (await UserRowsAsync(day, user)).Single(r => r.Model == model).CostMicros);

        // The audit: both runs, newest first, with who and what.
        using var runs = await app.Api.SendAsync(app.Admin(HttpMethod.Get, "/api/v1/admin/pricing/reprice/runs?limit=2"));
        Assert.Equal(HttpStatusCode.OK, runs.StatusCode);
        var audit = (await runs.Content.ReadFromJsonAsync<JsonArray>())!;
        Assert.Equal([(long)again["runId"]!, run], audit.Select(r => (long)r!["id"]!));
        var first = audit[1]!;
        Assert.Equal((1L, 0.36054m), ((long)first["rowsChanged"]!, (decimal)first["deltaUsd"]!));
        Assert.Matches("^AdminKey:[0-9a-f]{12}$", (string)first["actor"]!);
        Assert.NotNull(first["ledgerAppliedAt"]);
        Assert.True((long)first["pricingVersion"]! > 0);
        Assert.Equal(user, (string)Assert.Single(first["byUser"]!.AsArray())!["userId"]!);
    }

    [Fact]
    public async Task A_reprice_names_the_fields_it_refuses_and_changes_nothing()
    {
        using var response = await app.Api.SendAsync(app.Admin(HttpMethod.Post, "/api/v1/admin/pricing/reprice",
            new { from = "2026-13-01", to = "yesterday", models = new[] { "" }, dryRun = false }));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonObject>())!["errors"]!.AsObject();
        Assert.Equal(["from", "models", "to"], errors.Select(e => e.Key).Order());

        var today = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var tomorrow = DateTime.UtcNow.AddDays(1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        using var future = await app.Api.SendAsync(app.Admin(HttpMethod.Post, "/api/v1/admin/pricing/reprice", new { from = today, to = tomorrow, dryRun = false }));
        Assert.Equal(HttpStatusCode.BadRequest, future.StatusCode);
        Assert.True((await future.Content.ReadFromJsonAsync<JsonObject>())!["errors"]!.AsObject().ContainsKey("to"));
    }

    private async Task<JsonObject> RepriceAsync(object body)
    {
        using var response = await app.Api.SendAsync(app.Admin(HttpMethod.Post, "/api/v1/admin/pricing/reprice", body));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    private async Task<decimal> CostUsdAsync(string path)
    {
        using var response = await app.Api.SendAsync(app.Admin(HttpMethod.Get, path));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (decimal)(await response.Content.ReadFromJsonAsync<JsonObject>())!["totals"]!["costUsd"]!;
    }

    private async Task<List<(string Model, long Requests, long CostMicros)>> UserRowsAsync(string day, string user)
    {
        using var response = await app.Api.SendAsync(app.Admin(HttpMethod.Get, $"/api/v1/admin/exports/usage?from={day}&to={day}"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var lines = (await response.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var header = lines[0].Split(',');
        int Column(string name) => Array.IndexOf(header, name);
        return
        [
            .. lines.Skip(1).Select(l => l.Split(',')).Where(f => f[Column("userId")] == user)
                .Select(f => (f[Column("model")], long.Parse(f[Column("requests")], CultureInfo.InvariantCulture),
                    (long)(decimal.Parse(f[Column("costUsd")], CultureInfo.InvariantCulture) * 1_000_000m))),
        ];
    }
}
