using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using LlmCostTracker.Contracts;

namespace LlmCostTracker.Tests.Integration;

/// <summary>Usage tagged by team, feature, environment...: counted per value in the user's bucket, reported and
/// budgeted per value, on the Redis Cluster.</summary>
[Collection(ShardedCollection.Name)]
public sealed class TagTests(ShardedAppFixture app)
{
    private const long Micros = FaultScenarios.MicrosPerEvent;

    private static object Tagged(string user, Dictionary<string, string> tags, string? eventId = null) =>
        new { eventId = eventId ?? Guid.NewGuid().ToString("N"), userId = user, model = "gpt-4o", inputTokens = 100, outputTokens = 100, tags };

    [Fact]
    public async Task Concurrent_and_batched_posts_with_duplicates_are_counted_exactly_once_per_tag_value_and_sum_to_the_dimension()
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        var users = Enumerable.Range(0, 12).Select(i => $"tags-{run}-{i}").ToArray();
        var teams = Enumerable.Range(0, 3).Select(i => $"team{i}-{run}").ToArray();
        var projects = Enumerable.Range(0, 4).Select(i => $"proj{i}-{run}").ToArray();
        // 240 events over 12 users (so over many buckets and masters); every event has a team and a project, every
        // third one no feature (the feature dimension's sum covers only the events that carried it).
        var events = Enumerable.Range(0, 240).Select(i =>
        {
            var tags = new Dictionary<string, string> { ["team"] = teams[i % 3], ["project"] = projects[i % 4], ["environment"] = $"prod-{run}" };
            if (i % 3 != 0)
            {
                tags["feature"] = $"summarize-{run}";
            }

            return (Body: Tagged(users[i % 12], tags), Tags: tags);
        }).ToArray();

        // Half posted one by one, all at once; half in batches of 40; then 30 singles and one batch posted again.
        var singles = events[..120];
        var batches = events[120..].Chunk(40).ToArray();
        var posts = singles.Select(e => app.PostUsageAsync(e.Body))
            .Concat(batches.Select(b => app.PostBatchAsync(new { events = b.Select(e => e.Body) })));
        var responses = await Task.WhenAll(posts);
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        var again = await Task.WhenAll(singles[..30].Select(e => app.PostUsageAsync(e.Body))
            .Append(app.PostBatchAsync(new { events = batches[0].Select(e => e.Body) })));
        Assert.All(again, r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));

        foreach (var user in users)
        {
            var totals = await app.WaitForRequestsAsync(user, 20);
            Assert.Equal(20, totals["requests"]);
        }

        foreach (var (dimension, value, count) in new[]
        {
            ("team", teams[0], 80), ("team", teams[1], 80), ("team", teams[2], 80),
            ("project", projects[0], 60), ("project", projects[3], 60),
            ("environment", $"prod-{run}", 240), ("feature", $"summarize-{run}", 160),
        })
        {
            var detail = await WaitForValueAsync(app, dimension, value, count);
            Assert.Equal(count, detail.GetProperty("requests").GetInt64());
            Assert.Equal(count * Micros / 1_000_000m, detail.GetProperty("costUsd").GetDecimal());
            Assert.Equal(count * 100, detail.GetProperty("inputTokens").GetInt64());
            Assert.Equal(count * 100, detail.GetProperty("outputTokens").GetInt64());
            var model = Assert.Single(detail.GetProperty("models").EnumerateArray());
            Assert.Equal(count * Micros / 1_000_000m, model.GetProperty("costUsd").GetDecimal());
            Assert.Equal(count * Micros / 1_000_000m, detail.GetProperty("daily").EnumerateArray().Sum(d => d.GetProperty("costUsd").GetDecimal()));
            // Its top users: every user that carried the value, with the value's cost split between them.
            var tagUsers = detail.GetProperty("users").EnumerateArray().ToArray();
            Assert.All(tagUsers, u => Assert.StartsWith($"tags-{run}-", u.GetProperty("userId").GetString()));
            Assert.Equal(count * Micros / 1_000_000m, tagUsers.Sum(u => u.GetProperty("costUsd").GetDecimal()));
        }

        // The invariant: over every value of a dimension, the month's cost of the events that carried it. Only this
        // test tags a project, so the dimension's whole month is these 240 events.
        var report = await Eventually.ReturnsAsync(
            () => ReportAsync(app, "project"),
            r => r.GetProperty("totals").GetProperty("costUsd").GetDecimal() == 240 * Micros / 1_000_000m
                && r.GetProperty("values").EnumerateArray().Sum(v => v.GetProperty("requests").GetInt64()) == 240,
            because: "every project's events folded");
        var rows = report.GetProperty("values").EnumerateArray().ToArray();
        Assert.Equal(projects.Order(StringComparer.Ordinal), rows.Select(r => r.GetProperty("value").GetString()!).Order(StringComparer.Ordinal));
        Assert.Equal(240 * Micros / 1_000_000m, rows.Sum(r => r.GetProperty("costUsd").GetDecimal()));
        Assert.Equal(240 * Micros / 1_000_000m, report.GetProperty("totals").GetProperty("costUsd").GetDecimal());
        Assert.Equal(240, rows.Sum(r => r.GetProperty("requests").GetInt64()));
        // Ordered by cost, highest first.
        var costs = rows.Select(r => r.GetProperty("costUsd").GetDecimal()).ToArray();
        Assert.Equal(costs.OrderDescending(), costs);
    }

    [Fact]
    public async Task Duplicates_written_with_new_events_in_one_call_are_taken_out_of_the_tags()
    {
        var user = AppFixture.NewUser("tagdup");
        var team = $"dup-{Guid.NewGuid().ToString("N")[..8]}";
        var tags = new Dictionary<string, string> { ["team"] = team, ["environment"] = $"env-{team}" };
        LlmUsage Usage(string id) => new()
        {
            EventId = id, UserId = user, Model = "gpt-4o", InputTokens = 100, CachedInputTokens = 0, OutputTokens = 100,
            OccurredAt = DateTimeOffset.UtcNow, Tags = tags,
        };

        await using var bus = await TestBus.StartAsync(app.App);
        await bus.Publish(new LlmUsageRecorded { Events = [Usage("first")] });
        await app.WaitForRequestsAsync(user, 1);
        // One message, so one ledger call: "first" again (a duplicate) beside three new events, one of them twice.
        await bus.Publish(new LlmUsageRecorded { Events = [Usage("first"), Usage("second"), Usage("third"), Usage("third"), Usage("fourth")] });
        await FaultScenarios.AssertExactTotalsAsync(app, user, 4);

        foreach (var (dimension, value) in tags)
        {
            var detail = await WaitForValueAsync(app, dimension, value, 4);
            Assert.Equal(4, detail.GetProperty("requests").GetInt64());
            Assert.Equal(4 * Micros / 1_000_000m, detail.GetProperty("costUsd").GetDecimal());
            Assert.Equal(4 * Micros / 1_000_000m, Assert.Single(detail.GetProperty("users").EnumerateArray()).GetProperty("costUsd").GetDecimal());
        }

        // A later event is counted on top: nothing of the duplicates is left to fold.
        await bus.Publish(new LlmUsageRecorded { Events = [Usage("fifth")] });
        await FaultScenarios.AssertExactTotalsAsync(app, user, 5);
        var after = await WaitForValueAsync(app, "team", team, 5);
        Assert.Equal(5 * Micros / 1_000_000m, after.GetProperty("costUsd").GetDecimal());
    }

    [Fact]
    public async Task Past_the_cap_new_values_are_counted_under_other_and_the_dimension_total_stays_exact()
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        var user = AppFixture.NewUser("tagcap");
        var customers = Enumerable.Range(0, ShardedAppFixture.MaxValuesPerDimension + 5).Select(i => $"cust{i}-{run}").ToArray();
        var first = await app.PostBatchAsync(new { events = customers.Select(c => Tagged(user, new() { ["customer"] = c })) });
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        await app.WaitForRequestsAsync(user, customers.Length);
        // Each value again: an admitted value stays admitted, one turned away stays under (other), all month.
        var second = await app.PostBatchAsync(new { events = customers.Select(c => Tagged(user, new() { ["customer"] = c })) });
        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        await app.WaitForRequestsAsync(user, 2 * customers.Length);

        var report = await Eventually.ReturnsAsync(
            () => ReportAsync(app, "customer"),
            // A report reads the index, then the values: a fold between the two shows the values ahead of the totals.
            r => r.GetProperty("values").EnumerateArray().Sum(v => v.GetProperty("requests").GetInt64()) == 2 * customers.Length
                && r.GetProperty("totals").GetProperty("costUsd").GetDecimal() == 2 * customers.Length * Micros / 1_000_000m,
            because: "every customer-tagged event in the dimension's report");
        var rows = report.GetProperty("values").EnumerateArray().ToDictionary(r => r.GetProperty("value").GetString()!, r => r);
        Assert.Equal(ShardedAppFixture.MaxValuesPerDimension + 1, rows.Count);
        var other = rows[TagValidator.OtherValue];
        Assert.Equal(2 * 5, other.GetProperty("requests").GetInt64());
        Assert.Equal(2 * 5 * Micros / 1_000_000m, other.GetProperty("costUsd").GetDecimal());
        Assert.All(rows.Where(r => r.Key != TagValidator.OtherValue), r =>
        {
            Assert.Contains(r.Key, customers);
            Assert.Equal(2, r.Value.GetProperty("requests").GetInt64());
        });
        Assert.Equal(2 * customers.Length * Micros / 1_000_000m, report.GetProperty("totals").GetProperty("costUsd").GetDecimal());
        Assert.Equal(ShardedAppFixture.MaxValuesPerDimension + 1, report.GetProperty("totals").GetProperty("valueCount").GetInt64());

        // (other) has its own detail; a value turned away has none.
        var detail = await WaitForValueAsync(app, "customer", TagValidator.OtherValue, 10);
        Assert.Equal(10, detail.GetProperty("requests").GetInt64());
        var refused = customers.First(c => !rows.ContainsKey(c));
        using var none = await app.Api.SendAsync(app.Admin(HttpMethod.Get, $"/api/v1/admin/llm-costs/by/customer/{refused}"));
        Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
    }

    [Fact]
    public async Task A_team_budget_alert_fires_once_per_threshold_under_concurrent_usage()
    {
        var team = $"alerts-{Guid.NewGuid().ToString("N")[..8]}";
        // $0.01: the 8th event (10,000 µ$) reaches 100%, the 7th (8,750 µ$) 80%.
        using (var put = await app.Api.SendAsync(app.Admin(HttpMethod.Put, $"/api/v1/admin/budgets/by/team/{team}", new { monthlyBudgetUsd = 0.01m })))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            var budget = await put.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(0.01m, budget.GetProperty("monthlyBudgetUsd").GetDecimal());
        }

        using (var get = await app.Api.SendAsync(app.Admin(HttpMethod.Get, $"/api/v1/admin/budgets/by/team/{team}")))
        {
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            Assert.Equal(0.01m, (await get.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("monthlyBudgetUsd").GetDecimal());
        }

        await using var listener = await AlertListener.StartAsync(app.AlertSubscriber, "team", team);
        var users = Enumerable.Range(0, 8).Select(i => AppFixture.NewUser($"teamalert{i}")).ToArray();
        // 40 events of 8 users, all at once, over both API replicas and the worker's concurrent batches.
        var responses = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => app.PostUsageAsync(Tagged(users[i % 8], new() { ["team"] = team }))));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        await WaitForValueAsync(app, "team", team, 40);
        await listener.WaitForAsync(2);

        // One more event, counted after every threshold was crossed, publishes nothing more.
        Assert.Equal(HttpStatusCode.Accepted, (await app.PostUsageAsync(Tagged(users[0], new() { ["team"] = team }))).StatusCode);
        await WaitForValueAsync(app, "team", team, 41);
        var alerts = listener.Received.ToArray();
        Assert.Equal([80, 100], alerts.Select(a => a.ThresholdPercent).Order());
        Assert.All(alerts, a =>
        {
            Assert.Equal("team", a.Dimension);
            Assert.Equal(team, a.Value);
            Assert.Equal(AppFixture.CurrentMonth, a.Month);
            Assert.Equal(0.01m, a.BudgetUsd);
            Assert.True(a.SpentUsd * 100 >= a.BudgetUsd * a.ThresholdPercent, $"{a.SpentUsd} spent at {a.ThresholdPercent}%");
        });

        // The value's report shows the budget's use.
        var row = (await ReportAsync(app, "team")).GetProperty("values").EnumerateArray().Single(r => r.GetProperty("value").GetString() == team);
        Assert.Equal(0.01m, row.GetProperty("budgetUsd").GetDecimal());
        Assert.True(row.GetProperty("budgetExhausted").GetBoolean());

        using var delete = await app.Api.SendAsync(app.Admin(HttpMethod.Delete, $"/api/v1/admin/budgets/by/team/{team}"));
        Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
        using var after = await app.Api.SendAsync(app.Admin(HttpMethod.Get, $"/api/v1/admin/budgets/by/team/{team}"));
        Assert.Equal(JsonValueKind.Null, (await after.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("monthlyBudgetUsd").ValueKind);
    }

    [Fact]
    public async Task Bad_tags_are_refused_naming_the_field_and_nothing_of_the_request_is_stored()
    {
        var user = AppFixture.NewUser("badtags");
        var good = $"good-{Guid.NewGuid().ToString("N")[..8]}";
        var cases = new (object Body, bool Batch, string Field)[]
        {
            (Tagged(user, new() { ["team"] = "has space" }), false, "tags.team"),
            (Tagged(user, new() { ["team"] = new string('a', 65) }), false, "tags.team"),
            (Tagged(user, new() { ["region"] = "eu" }), false, "tags"),
            (Tagged(user, new() { ["Team"] = good }), false, "tags"),
            (Tagged(user, new() { ["team"] = TagValidator.OtherValue }), false, "tags.team"),
            (new { events = new[] { Tagged(user, new() { ["team"] = good }), Tagged(user, new() { ["team"] = good }), Tagged(user, new() { ["team"] = good }),
                Tagged(user, new() { ["team"] = good, ["feature"] = good, ["environment"] = good, ["project"] = good, ["customer"] = good, ["extra"] = good }) } },
                true, "events[3].tags"),
            (new { events = new[] { Tagged(user, new() { ["team"] = good }), Tagged(user, new() { ["feature"] = "" }) } }, true, "events[1].tags.feature"),
        };
        foreach (var (body, batch, field) in cases)
        {
            using var response = batch ? await app.PostBatchAsync(body) : await app.PostUsageAsync(body);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"{field} in {problem}");
        }

        // A good event after them is the only one counted; the refused batches' good events left nothing.
        Assert.Equal(HttpStatusCode.Accepted, (await app.PostUsageAsync(Tagged(user, new() { ["feature"] = good }))).StatusCode);
        var totals = await app.WaitForRequestsAsync(user, 1);
        Assert.Equal(1, totals["requests"]);
        await WaitForValueAsync(app, "feature", good, 1);
        using var team = await app.Api.SendAsync(app.Admin(HttpMethod.Get, $"/api/v1/admin/llm-costs/by/team/{good}"));
        Assert.Equal(HttpStatusCode.NotFound, team.StatusCode);
    }

    [Fact]
    public async Task Unknown_dimensions_are_404_and_bad_values_months_and_amounts_400()
    {
        foreach (var (method, path) in new[]
        {
            (HttpMethod.Get, "/api/v1/admin/llm-costs/by/region"),
            (HttpMethod.Get, "/api/v1/admin/llm-costs/by/region/eu"),
            (HttpMethod.Get, "/api/v1/admin/budgets/by/region/eu"),
            (HttpMethod.Delete, "/api/v1/admin/budgets/by/region/eu"),
        })
        {
            using var response = await app.Api.SendAsync(app.Admin(method, path));
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Contains("application/problem+json", response.Content.Headers.ContentType?.ToString());
        }

        using (var put = await app.Api.SendAsync(app.Admin(HttpMethod.Put, "/api/v1/admin/budgets/by/region/eu", new { monthlyBudgetUsd = 1m })))
        {
            Assert.Equal(HttpStatusCode.NotFound, put.StatusCode);
        }

        foreach (var (method, path, body, field) in new (HttpMethod, string, object?, string)[]
        {
            (HttpMethod.Get, "/api/v1/admin/llm-costs/by/team?month=2026-13", null, "month"),
            (HttpMethod.Get, "/api/v1/admin/llm-costs/by/team?top=0", null, "top"),
            (HttpMethod.Get, "/api/v1/admin/llm-costs/by/team/has%20space", null, "value"),
            (HttpMethod.Get, "/api/v1/admin/llm-costs/by/team/search?month=26-01", null, "month"),
            (HttpMethod.Put, "/api/v1/admin/budgets/by/team/search", new { monthlyBudgetUsd = -1m }, "monthlyBudgetUsd"),
            (HttpMethod.Put, "/api/v1/admin/budgets/by/team/(other)", new { monthlyBudgetUsd = 1m }, "value"),
        })
        {
            using var response = await app.Api.SendAsync(app.Admin(method, path, body));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"{field} in {problem}");
        }

        // Without the admin key: 401, even for an unknown dimension.
        using var anonymous = await app.Api.GetAsync("/api/v1/admin/llm-costs/by/region");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }

    /// <summary>A dimension's month report (admin API).</summary>
    public static async Task<JsonElement> ReportAsync(AppFixture app, string dimension)
    {
        using var response = await app.Api.SendAsync(app.Admin(HttpMethod.Get, $"/api/v1/admin/llm-costs/by/{dimension}?month={AppFixture.CurrentMonth}&top=1000"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var report = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(dimension, report.GetProperty("dimension").GetString());
        return report;
    }

    /// <summary>Waits until a tag value's detail (admin API) shows <paramref name="requests"/> requests.</summary>
    public static Task<JsonElement> WaitForValueAsync(AppFixture app, string dimension, string value, long requests) =>
        Eventually.ReturnsAsync(
            async () =>
            {
                using var response = await app.Api.SendAsync(app.Admin(HttpMethod.Get, $"/api/v1/admin/llm-costs/by/{dimension}/{Uri.EscapeDataString(value)}?top=100"));
                Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.NotFound, $"{dimension}/{value}: {response.StatusCode}");
                return response.StatusCode == HttpStatusCode.OK ? await response.Content.ReadFromJsonAsync<JsonElement>() : default;
            },
            detail => detail.ValueKind == JsonValueKind.Object && detail.GetProperty("requests").GetInt64() >= requests,
            because: $"{dimension} {value} to reach {requests} requests");
}
