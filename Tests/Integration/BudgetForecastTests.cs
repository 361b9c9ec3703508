using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using LlmCostTracker.Ledger;
using Microsoft.Playwright;

namespace LlmCostTracker.Tests.Integration;

/// <summary>The burn-rate forecast in the running worker: a user's spend that runs out the budget before the month
/// ends is delivered to the webhooks as <c>budget.forecast_exhausted</c>, signed, with its projection, and shown in the
/// admin API's user report and on the dashboard's user page.</summary>
[Collection(ForecastCollection.Name)]
public sealed class BudgetForecastTests(ForecastAppFixture app) : IAsyncLifetime
{
    private DashboardBrowser _browser = null!;

    public async Task InitializeAsync() => _browser = await DashboardBrowser.StartAsync(app);

    public async Task DisposeAsync() => await _browser.DisposeAsync();

    [Fact]
    public async Task A_burn_rate_that_runs_out_the_budget_before_the_month_ends_is_delivered_with_its_projection()
    {
        var user = AppFixture.NewUser("forecast");
        var before = DateTimeOffset.UtcNow;
        // $5.97 of the default $6 budget in three events of $1.99 (199k gpt-4o output tokens): at the rate since the
        // start of today the last 3 cents go within minutes, before the month ends (unless it ends within them).
        for (var i = 0; i < ForecastAppFixture.MinEvents; i++)
        {
            using var posted = await app.PostUsageAsync(new { userId = user, model = "gpt-4o", inputTokens = 0, outputTokens = 199_000 });
            Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        }

        var receiver = app.Webhooks!;
        var delivery = (await Eventually.ReturnsAsync(
            () => Task.FromResult(receiver.For("/json", $"\"{user}\"").Where(a => a.Status == 200 && a.Body.Contains("budget.forecast_exhausted", StringComparison.Ordinal)).ToList()),
            found => found.Count >= 1,
            because: "the forecast alert delivered to the json endpoint"))[0];

        var key = Convert.FromBase64String(await app.ParameterValueAsync("alert-webhook-secret", CancellationToken.None));
        Assert.Equal("v1," + Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{delivery.WebhookId}.{delivery.Timestamp}.{delivery.Body}"))),
            delivery.Signature);
        var root = JsonDocument.Parse(delivery.Body).RootElement;
        Assert.Equal("budget.forecast_exhausted", root.GetProperty("type").GetString());
        Assert.Equal(delivery.WebhookId, root.GetProperty("id").GetString());
        Assert.Equal(AppFixture.CurrentMonth, root.GetProperty("month").GetString());
        Assert.Equal(user, root.GetProperty("subject").GetProperty("userId").GetString());
        Assert.Equal(5.97m, root.GetProperty("spentUsd").GetDecimal());
        Assert.Equal(6m, root.GetProperty("budgetUsd").GetDecimal());
        Assert.False(root.TryGetProperty("thresholdPercent", out _));
        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$", root.GetProperty("traceParent").GetString());
        var forecast = root.GetProperty("forecast");
        var exhaustedAt = forecast.GetProperty("projectedExhaustedAt").GetDateTimeOffset();
        var monthEnd = new DateTimeOffset(before.Year, before.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1);
        Assert.InRange(exhaustedAt, before, monthEnd);
        Assert.True(forecast.GetProperty("dailyRateUsd").GetDecimal() > 0);
        Assert.InRange(forecast.GetProperty("daysEarly").GetDouble(), 0, 31);

        // The Slack endpoint: the same alert as a message.
        var slack = await Eventually.ReturnsAsync(
            () => Task.FromResult(receiver.For("/slack", $"*{user}*").Where(a => a.Status == 200 && a.WebhookId == delivery.WebhookId).ToList()),
            found => found.Count >= 1,
            because: "the forecast alert delivered to the Slack endpoint");
        Assert.StartsWith($":hourglass_flowing_sand: LLM cost: User *{user}* is on course to use up the $6.00 budget for {AppFixture.CurrentMonth} on ",
            JsonDocument.Parse(slack[0].Body).RootElement.GetProperty("text").GetString(), StringComparison.Ordinal);

        // Claimed in the user's month, so no later scan sends it again.
        var claim = await app.Redis.GetDatabase().HashGetAsync(app.Keys.UserMonth(user, AppFixture.CurrentMonth), LedgerKeys.ForecastField);
        Assert.StartsWith($"{LedgerKeys.AlertSent}|", claim.ToString(), StringComparison.Ordinal);

        // The user's report and dashboard page say so, with the projection the alert carried.
        var page = await AssertShownAsync($"/api/v1/admin/llm-costs/{user}", $"/users/{user}", exhaustedAt, before);
        await DashboardBrowser.ShotAsync(page, "dashboard-forecast");
    }

    /// <summary>Asserts the admin report at <paramref name="reportPath"/> carries the forecast sent (its projection and
    /// when, since <paramref name="before"/>), and the dashboard page at <paramref name="pagePath"/> shows it.</summary>
    private async Task<IPage> AssertShownAsync(string reportPath, string pagePath, DateTimeOffset exhaustedAt, DateTimeOffset before)
    {
        using var report = await app.Api.SendAsync(app.Admin(HttpMethod.Get, reportPath));
        Assert.Equal(HttpStatusCode.OK, report.StatusCode);
        var reported = JsonDocument.Parse(await report.Content.ReadAsStringAsync()).RootElement.GetProperty("forecast");
        Assert.Equal(exhaustedAt.ToUnixTimeMilliseconds(), reported.GetProperty("projectedExhaustedAt").GetDateTimeOffset().ToUnixTimeMilliseconds());
        Assert.InRange(reported.GetProperty("alertedAt").GetDateTimeOffset(), before, DateTimeOffset.UtcNow);

        var page = await _browser.NewPageAsync();
        await DashboardBrowser.SignInAsync(page, app.AdminApiKey);
        await page.GotoAsync(pagePath);
        await DashboardBrowser.InteractiveAsync(page);
        await Assertions.Expect(page.Locator("[data-testid=forecast-alert]")).ToContainTextAsync("at the recent burn rate the budget runs out");
        await DashboardBrowser.AssertAccessibleAsync(page);
        return page;
    }

    [Fact]
    public async Task A_tag_value_whose_burn_rate_runs_out_its_budget_is_delivered_as_a_forecast_with_a_tag_subject()
    {
        var team = AppFixture.NewUser("forecast-team");
        using (var put = await app.Api.SendAsync(app.Admin(HttpMethod.Put, $"/api/v1/admin/budgets/by/team/{team}", new { monthlyBudgetUsd = 6m, thresholds = Array.Empty<int>() })))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        // $5.97 of the value's $6 from three users (one event each, below the users' own forecast minimum), so only
        // the value's month, summed over its users' buckets, runs out before the month ends.
        var before = DateTimeOffset.UtcNow;
        for (var i = 0; i < ForecastAppFixture.MinEvents; i++)
        {
            using var posted = await app.PostUsageAsync(new
            {
                userId = AppFixture.NewUser("forecast-member"), model = "gpt-4o", inputTokens = 0, outputTokens = 199_000,
                tags = new Dictionary<string, string> { ["team"] = team },
            });
            Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        }

        var delivery = (await Eventually.ReturnsAsync(
            () => Task.FromResult(app.Webhooks!.For("/json", $"\"{team}\"").Where(a => a.Status == 200 && a.Body.Contains("budget.forecast_exhausted", StringComparison.Ordinal)).ToList()),
            found => found.Count >= 1,
            because: "the tag value's forecast alert delivered to the json endpoint"))[0];
        var root = JsonDocument.Parse(delivery.Body).RootElement;
        var subject = root.GetProperty("subject");
        Assert.Equal("tag", subject.GetProperty("kind").GetString());
        Assert.Equal("team", subject.GetProperty("dimension").GetString());
        Assert.Equal(team, subject.GetProperty("value").GetString());
        Assert.Equal(5.97m, root.GetProperty("spentUsd").GetDecimal());
        Assert.Equal(6m, root.GetProperty("budgetUsd").GetDecimal());
        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$", root.GetProperty("traceParent").GetString());
        var exhaustedAt = root.GetProperty("forecast").GetProperty("projectedExhaustedAt").GetDateTimeOffset();
        Assert.InRange(exhaustedAt, before, new DateTimeOffset(before.Year, before.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1));

        // The value's report and dashboard page say so.
        await AssertShownAsync($"/api/v1/admin/llm-costs/by/team/{team}", $"/tags/team/{team}", exhaustedAt, before);
    }
}
