using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using LlmCostTracker.Contracts;
using LlmCostTracker.Ledger;

namespace LlmCostTracker.Tests.Integration;

public abstract class AdminApiTests(AppFixture app)
{
    private static readonly DateTimeOffset LastMonthEnd =
        new DateTimeOffset(DateTimeOffset.UtcNow.Year, DateTimeOffset.UtcNow.Month, 1, 0, 0, 0, TimeSpan.Zero).AddHours(-1);

    private static string LastMonth => LastMonthEnd.ToString("yyyy-MM", CultureInfo.InvariantCulture);

    [Theory]
    [InlineData("none")]
    [InlineData("wrong")]
    [InlineData("ingest")]
    public async Task Admin_endpoints_refuse_a_missing_wrong_or_ingest_key(string presented)
    {
        foreach (var (method, path) in new[]
        {
            (HttpMethod.Get, "/api/v1/admin/llm-costs"), (HttpMethod.Get, "/api/v1/admin/llm-costs/someone"),
            (HttpMethod.Get, "/api/v1/admin/budgets/someone"), (HttpMethod.Put, "/api/v1/admin/budgets/someone"),
            (HttpMethod.Delete, "/api/v1/admin/budgets/someone"),
        })
        {
            var request = new HttpRequestMessage(method, path);
            if (method == HttpMethod.Put)
            {
                request.Content = JsonContent.Create(new { monthlyBudgetUsd = 1 });
            }

            switch (presented)
            {
                case "wrong":
                    request.Headers.Add("X-Admin-Key", "not-the-key");
                    break;
                case "ingest":
                    request.Headers.Add("X-Admin-Key", app.IngestApiKey);
                    request.Headers.Add("X-Api-Key", app.IngestApiKey);
                    break;
            }

            var response = await app.Api.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
    }

    [Fact]
    public async Task The_admin_key_works_as_a_bearer_token()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/admin/budgets/someone");
        request.Headers.Authorization = new("Bearer", app.AdminApiKey);
        Assert.Equal(HttpStatusCode.OK, (await app.Api.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task The_report_lists_users_by_cost_with_totals_models_and_projection()
    {
        // Last month, so the projection is the actual total; large costs so these users lead the month.
        var run = Guid.NewGuid().ToString("N")[..8];
        var big = $"rpt-{run}-big";
        var mid = $"rpt-{run}-mid";
        var small = $"rpt-{run}-small";
        var response = await app.PostBatchAsync(new
        {
            events = new object[]
            {
                new { userId = big, model = "claude-3-opus", inputTokens = 0, outputTokens = 2_000_000, occurredAt = LastMonthEnd },
                new { userId = big, model = "gpt-4o", inputTokens = 1000, cachedInputTokens = 200, outputTokens = 500, occurredAt = LastMonthEnd },
                new { userId = mid, model = "claude-3-opus", inputTokens = 0, outputTokens = 1_500_000, occurredAt = LastMonthEnd },
                new { userId = small, model = "claude-3-opus", inputTokens = 0, outputTokens = 1_000_000, occurredAt = LastMonthEnd },
            },
        });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        await app.WaitForRequestsAsync(big, 2, LastMonth);
        await app.WaitForRequestsAsync(small, 1, LastMonth);
        await app.WaitForRequestsAsync(mid, 1, LastMonth);

        var report = await GetJsonAsync($"/api/v1/admin/llm-costs?month={LastMonth}&top=3");
        Assert.Equal(LastMonth, report.GetProperty("month").GetString());
        Assert.Equal("USD", report.GetProperty("currency").GetString());
        Assert.True(report.TryGetProperty("generatedAt", out _));
        var totals = report.GetProperty("totals");
        foreach (var field in new[] { "costUsd", "inputTokens", "cachedInputTokens", "outputTokens", "requests", "userCount", "projectedMonthEndCostUsd" })
        {
            Assert.True(totals.TryGetProperty(field, out _), field);
        }

        Assert.Equal(totals.GetProperty("costUsd").GetDecimal(), totals.GetProperty("projectedMonthEndCostUsd").GetDecimal());

        // Over every user (not the top 3): the month's models and days each add up to its total, to the micro-dollar.
        var monthCost = totals.GetProperty("costUsd").GetDecimal();
        Assert.Equal(monthCost, report.GetProperty("models").EnumerateArray().Sum(m => m.GetProperty("costUsd").GetDecimal()));
        Assert.Equal(monthCost, report.GetProperty("daily").EnumerateArray().Sum(d => d.GetProperty("costUsd").GetDecimal()));
        Assert.Equal(totals.GetProperty("requests").GetInt64(), report.GetProperty("models").EnumerateArray().Sum(m => m.GetProperty("requests").GetInt64()));
        Assert.Contains(report.GetProperty("daily").EnumerateArray(), d => d.GetProperty("date").GetString() == LastMonthEnd.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));

        var users = report.GetProperty("users").EnumerateArray().ToArray();
        Assert.Equal(3, users.Length);
        Assert.Equal([big, mid, small], users.Select(u => u.GetProperty("userId").GetString()));

        var first = users[0];
        Assert.Equal(150.00725m, first.GetProperty("costUsd").GetDecimal()); // $150 + 7,250 micro-dollars
        Assert.Equal("150.00725", first.GetProperty("costUsd").GetRawText());
        Assert.Equal(1000, first.GetProperty("inputTokens").GetInt64());
        Assert.Equal(200, first.GetProperty("cachedInputTokens").GetInt64());
        Assert.Equal(2_000_500, first.GetProperty("outputTokens").GetInt64());
        Assert.Equal(2, first.GetProperty("requests").GetInt64());
        Assert.Equal(6.00m, first.GetProperty("budgetUsd").GetDecimal());
        Assert.Equal(2500.12m, first.GetProperty("budgetUsedPercent").GetDecimal());
        Assert.Equal(150.00725m, first.GetProperty("projectedMonthEndCostUsd").GetDecimal());
        // Over budget in a past month: when it ran out (recorded with the 100% alert, or the end of the day the
        // daily series crossed it), never before the usage.
        Assert.True(first.GetProperty("budgetExhausted").GetBoolean());
        Assert.InRange(first.GetProperty("projectedBudgetExhaustedAt").GetDateTimeOffset(), LastMonthEnd, new DateTimeOffset(LastMonthEnd.Date, TimeSpan.Zero).AddDays(1));
        var models = first.GetProperty("models").EnumerateArray().ToArray();
        Assert.Equal(["claude-3-opus", "gpt-4o"], models.Select(m => m.GetProperty("model").GetString()));
        Assert.Equal(0.00725m, models[1].GetProperty("costUsd").GetDecimal());
        Assert.Equal(1, models[1].GetProperty("requests").GetInt64());

        var topOne = await GetJsonAsync($"/api/v1/admin/llm-costs?month={LastMonth}&top=1");
        Assert.Equal([big], topOne.GetProperty("users").EnumerateArray().Select(u => u.GetProperty("userId").GetString()));
        Assert.True(topOne.GetProperty("totals").GetProperty("userCount").GetInt64() >= 3);
    }

    [Fact]
    public async Task A_user_over_budget_shows_when_the_budget_ran_out_never_before_their_first_usage()
    {
        var user = AppFixture.NewUser("exhausted");
        var now = DateTimeOffset.UtcNow;
        var first = now.AddSeconds(-90);
        var crossing = new DateTimeOffset(now.AddSeconds(-30).UtcDateTime.Ticks / TimeSpan.TicksPerMillisecond * TimeSpan.TicksPerMillisecond, TimeSpan.Zero);
        // $1 first, then $7.50 (claude-3-opus, 100,000 output tokens) crossing the default $6 budget: 80% and 100% at once.
        Assert.Equal(HttpStatusCode.Accepted, (await app.PostUsageAsync(new { userId = user, model = "gpt-4o", inputTokens = 0, outputTokens = 100_000, occurredAt = first })).StatusCode);
        await app.WaitForRequestsAsync(user, 1);
        Assert.Equal(HttpStatusCode.Accepted, (await app.PostUsageAsync(new { userId = user, model = "claude-3-opus", inputTokens = 0, outputTokens = 100_000, occurredAt = crossing })).StatusCode);

        var detail = await Eventually.ReturnsAsync(
            async () => await (await app.Api.SendAsync(app.Admin(HttpMethod.Get, $"/api/v1/admin/llm-costs/{user}"))).Content.ReadFromJsonAsync<JsonElement>(),
            d => d.TryGetProperty("budgetExhausted", out var over) && over.GetBoolean()
                && d.GetProperty("projectedBudgetExhaustedAt").GetDateTimeOffset() == crossing,
            because: "the recorded crossing of the budget");

        Assert.Equal(8.5m, detail.GetProperty("costUsd").GetDecimal());
        Assert.True(detail.GetProperty("projectedBudgetExhaustedAt").GetDateTimeOffset() >= first);
    }

    [Fact]
    public async Task The_user_detail_has_daily_costs_and_an_unknown_user_is_404()
    {
        var user = AppFixture.NewUser("detail");
        await app.PostUsageAsync(new { userId = user, model = "gpt-4o", inputTokens = 0, outputTokens = 1000 });
        await app.WaitForRequestsAsync(user, 1);

        var detail = await GetJsonAsync($"/api/v1/admin/llm-costs/{user}");
        Assert.Equal(user, detail.GetProperty("userId").GetString());
        Assert.Equal(0.01m, detail.GetProperty("costUsd").GetDecimal());
        Assert.True(detail.GetProperty("projectedMonthEndCostUsd").GetDecimal() >= 0.01m);
        var daily = detail.GetProperty("daily").EnumerateArray().Single();
        Assert.Equal(DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), daily.GetProperty("date").GetString());
        Assert.Equal(0.01m, daily.GetProperty("costUsd").GetDecimal());

        var missing = await app.Api.SendAsync(app.Admin(HttpMethod.Get, $"/api/v1/admin/llm-costs/{AppFixture.NewUser("nobody")}"));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("?month=2026-13", "month")]
    [InlineData("?month=abc", "month")]
    [InlineData("?month=", "month")]
    [InlineData("?top=0", "top")]
    [InlineData("?top=100000", "top")]
    [InlineData("?top=abc", "top")]
    [InlineData("?top=-1", "top")]
    public async Task Bad_report_parameters_are_400_naming_the_parameter(string query, string field)
    {
        var response = await app.Api.SendAsync(app.Admin(HttpMethod.Get, "/api/v1/admin/llm-costs" + query));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _));
    }

    [Fact]
    public async Task Budget_override_rearms_fires_once_and_resets()
    {
        var user = AppFixture.NewUser("budget");
        await using var listener = await AlertListener.StartAsync(app.AlertSubscriber, user);
        var received = listener.Received;
        var initial = await GetJsonAsync($"/api/v1/admin/budgets/{user}");
        Assert.Equal(6.00m, initial.GetProperty("monthlyBudgetUsd").GetDecimal());
        Assert.True(initial.GetProperty("isDefault").GetBoolean());

        await PutBudgetAsync(user, 10m);
        var stored = await GetJsonAsync($"/api/v1/admin/budgets/{user}");
        Assert.Equal(10m, stored.GetProperty("monthlyBudgetUsd").GetDecimal());
        Assert.False(stored.GetProperty("isDefault").GetBoolean());

        await SpendAsync(user, 850_000, requests: 1); // $8.50 ≥ 80% of $10
        await listener.WaitForAsync(1);

        await PutBudgetAsync(user, 20m); // $8.50 < $16: 80% re-armed
        await Eventually.ReturnsAsync(
            () => app.Redis.GetDatabase().HashExistsAsync(app.Keys.UserMonth(user, AppFixture.CurrentMonth), LedgerKeys.AlertField(80)),
            exists => !exists, because: "80% to be re-armed");

        await SpendAsync(user, 800_000, requests: 2); // $16.50 ≥ $16: 80% fires again
        await listener.WaitForAsync(2);

        await PutBudgetAsync(user, 15m); // $16.50 ≥ $15: 100% fires, once
        await PutBudgetAsync(user, 15m);
        var detail = await GetJsonAsync($"/api/v1/admin/llm-costs/{user}");
        Assert.Equal(15m, detail.GetProperty("budgetUsd").GetDecimal());

        var reset = await app.Api.SendAsync(app.Admin(HttpMethod.Delete, $"/api/v1/admin/budgets/{user}"));
        Assert.Equal(HttpStatusCode.OK, reset.StatusCode);
        var afterReset = await GetJsonAsync($"/api/v1/admin/budgets/{user}");
        Assert.Equal(6.00m, afterReset.GetProperty("monthlyBudgetUsd").GetDecimal());
        Assert.True(afterReset.GetProperty("isDefault").GetBoolean());

        // Budget changes are applied in order, one at a time: once this one has re-armed everything,
        // every change before it has been applied and its alerts published.
        await PutBudgetAsync(user, 1000m);
        await Eventually.ReturnsAsync(
            async () => (await app.AlertStatesAsync(user)).Length,
            length => length == 0, because: "every threshold to be re-armed");

        Assert.Equal([80, 80, 100], received.Select(a => a.ThresholdPercent));
        Assert.Equal([10m, 20m, 15m], received.Select(a => a.BudgetUsd));
        Assert.Equal(16.50m, received.Last().SpentUsd);
    }

    [Theory]
    [InlineData("{\"monthlyBudgetUsd\": -1}")]
    [InlineData("{\"monthlyBudgetUsd\": 1000000001}")]
    [InlineData("{\"monthlyBudgetUsd\": 1.0000001}")]
    [InlineData("{}")]
    [InlineData("{\"monthlyBudgetUsd\": \"ten\"}")]
    public async Task Bad_budgets_are_400_naming_the_field(string body)
    {
        var request = app.Admin(HttpMethod.Put, $"/api/v1/admin/budgets/{AppFixture.NewUser("badbudget")}");
        request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        var response = await app.Api.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("monthlyBudgetUsd", out _));
    }

    private async Task PutBudgetAsync(string user, decimal usd)
    {
        var response = await app.Api.SendAsync(app.Admin(HttpMethod.Put, $"/api/v1/admin/budgets/{user}", new { monthlyBudgetUsd = usd }));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private async Task SpendAsync(string user, long gpt4oOutputTokens, long requests)
    {
        var response = await app.PostUsageAsync(new { userId = user, model = "gpt-4o", inputTokens = 0, outputTokens = gpt4oOutputTokens });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        await app.WaitForRequestsAsync(user, requests);
    }

    private async Task<JsonElement> GetJsonAsync(string path)
    {
        var response = await app.Api.SendAsync(app.Admin(HttpMethod.Get, path));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }
}

[Collection(AppCollection.Name)]
public sealed class AdminApiOnOneRedisTests(AppFixture app) : AdminApiTests(app);

[Collection(ShardedCollection.Name)]
public sealed class AdminApiOnRedisClusterTests(ShardedAppFixture app) : AdminApiTests(app);
