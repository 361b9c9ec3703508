using System.Net;
using Microsoft.Playwright;

namespace LlmCostTracker.Tests.Integration;

/// <summary>The cost dashboard in a real browser: Playwright driving Debian's chromium against the running app.
/// Each test saves a screenshot of what it checked (under the test output's <c>screenshots/</c>).</summary>
[Collection(AppCollection.Name)]
public sealed class DashboardTests(AppFixture app) : IAsyncLifetime
{
    private DashboardBrowser _browser = null!;

    public async Task InitializeAsync() => _browser = await DashboardBrowser.StartAsync(app);

    public async Task DisposeAsync() => await _browser.DisposeAsync();

    private Task<IPage> NewPageAsync() => _browser.NewPageAsync();

    private static Task ShotAsync(IPage page, string name) => DashboardBrowser.ShotAsync(page, name);

    private static Task SignInAsync(IPage page, string key) => DashboardBrowser.SignInAsync(page, key);

    private static Task InteractiveAsync(IPage page) => DashboardBrowser.InteractiveAsync(page);

    private static Task AssertAccessibleAsync(IPage page) => DashboardBrowser.AssertAccessibleAsync(page);

    [Fact]
    public async Task Signing_in_refuses_a_wrong_key_and_signing_out_ends_the_session()
    {
        var page = await NewPageAsync();

        var start = await page.GotoAsync("/");
        Assert.Equal((int)HttpStatusCode.OK, start!.Status);
        Assert.Contains("/signin", page.Url, StringComparison.Ordinal);

        await SignInAsync(page, "not-the-admin-key");
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("not valid");
        Assert.DoesNotContain(await page.Context.CookiesAsync(), c => c.Name == "llmcost-dashboard");
        await AssertAccessibleAsync(page);
        await ShotAsync(page, "signin-refused");

        await SignInAsync(page, app.AdminApiKey);
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Month overview" })).ToBeVisibleAsync();
        var session = Assert.Single(await page.Context.CookiesAsync(), c => c.Name == "llmcost-dashboard");
        Assert.True(session.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, session.SameSite);
        Assert.True(session.Expires > 0, "the session cookie has a bounded lifetime");
        Assert.DoesNotContain(app.AdminApiKey, await page.ContentAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(app.AdminApiKey, session.Value, StringComparison.Ordinal);

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await page.WaitForURLAsync("**/signin**");
        var after = await page.GotoAsync("/");
        Assert.Equal((int)HttpStatusCode.OK, after!.Status);
        Assert.Contains("/signin", page.Url, StringComparison.Ordinal);
        await ShotAsync(page, "signed-out");
    }

    [Fact]
    public async Task The_overview_shows_seeded_users_in_order_with_their_amounts_and_marks_budgets()
    {
        // gpt-4o output at $10 per million: 100M tokens cost $1,000 an event. Far above any other test's users.
        var run = Guid.NewGuid().ToString("N")[..6];
        var (top, second, third) = ($"dash-a-{run}", $"dash-b-{run}", $"dash-c-{run}");
        foreach (var (user, events, budget) in new[] { (top, 3, 2_500m), (second, 2, 2_400m), (third, 1, 10_000m) })
        {
            using var set = await app.Api.SendAsync(app.Admin(HttpMethod.Put, $"/api/v1/admin/budgets/{user}", new { monthlyBudgetUsd = budget }));
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
            using var posted = await app.PostBatchAsync(new
            {
                events = Enumerable.Range(0, events).Select(_ => new { userId = user, model = "gpt-4o", inputTokens = 0, outputTokens = 100_000_000 }).ToArray(),
            });
            Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        }

        await app.WaitForRequestsAsync(third, 1);
        await app.WaitForRequestsAsync(top, 3);
        await app.WaitForRequestsAsync(second, 2);

        var page = await NewPageAsync();
        await SignInAsync(page, app.AdminApiKey);
        await InteractiveAsync(page);
        var rows = page.Locator("[data-testid=users] tbody tr");
        await Assertions.Expect(rows.Nth(2)).ToContainTextAsync(third);
        Assert.Equal([top, second, third], [.. (await rows.EvaluateAllAsync<string[]>("rs => rs.slice(0, 3).map(r => r.getAttribute('data-user'))"))]);
        await Assertions.Expect(rows.Nth(0)).ToContainTextAsync("$3,000.00");
        await Assertions.Expect(rows.Nth(1)).ToContainTextAsync("$2,000.00");
        await Assertions.Expect(rows.Nth(2)).ToContainTextAsync("$1,000.00");
        await Assertions.Expect(rows.Nth(0)).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("over-budget"));
        await Assertions.Expect(rows.Nth(0)).ToContainTextAsync("over budget");
        await Assertions.Expect(rows.Nth(1)).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("near-budget"));
        await Assertions.Expect(rows.Nth(2)).Not.ToContainTextAsync("budget");
        await Assertions.Expect(page.Locator("[data-testid=models]")).ToContainTextAsync("gpt-4o");
        await AssertAccessibleAsync(page);
        await ShotAsync(page, "overview");

        // Sorted by spend ascending, the three come in the other order.
        await page.Locator("[data-testid=users]").GetByRole(AriaRole.Columnheader, new() { Name = "Spend" }).ClickAsync();
        await Assertions.Expect(rows.Nth(0)).Not.ToContainTextAsync(top);
        var order = await rows.EvaluateAllAsync<string[]>("rs => rs.map(r => r.getAttribute('data-user'))");
        Assert.True(Array.IndexOf(order, third) < Array.IndexOf(order, second) && Array.IndexOf(order, second) < Array.IndexOf(order, top), string.Join(",", order));

        // The page reloads its figures every Dashboard:RefreshInterval; the order the reader chose stays.
        var updated = page.Locator("[data-testid=updated]");
        var loadedAt = await updated.GetAttributeAsync("data-updated");
        Assert.NotNull(loadedAt);
        await Assertions.Expect(updated).Not.ToHaveAttributeAsync("data-updated", loadedAt, new() { Timeout = 20_000 });
        order = await rows.EvaluateAllAsync<string[]>("rs => rs.map(r => r.getAttribute('data-user'))");
        Assert.True(Array.IndexOf(order, third) < Array.IndexOf(order, second) && Array.IndexOf(order, second) < Array.IndexOf(order, top), string.Join(",", order));
    }

    [Fact]
    public async Task A_user_page_shows_the_budget_validates_a_change_inline_and_applies_it()
    {
        var user = AppFixture.NewUser("dash-user");
        using (var posted = await app.PostUsageAsync(new { userId = user, model = "gpt-4o", inputTokens = 0, outputTokens = 300_000 }))
        {
            Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        }

        await app.WaitForRequestsAsync(user, 1);
        var page = await NewPageAsync();
        await SignInAsync(page, app.AdminApiKey);
        await page.GotoAsync($"/users/{user}");
        await InteractiveAsync(page);
        await Assertions.Expect(page.Locator("[data-testid=user-spend]")).ToHaveTextAsync("$3.00");
        await Assertions.Expect(page.Locator("[data-testid=budget-used]")).ToContainTextAsync("$3.00 of $6.00 (50%)");
        await Assertions.Expect(page.Locator("[data-testid=user-models]")).ToContainTextAsync("gpt-4o");

        var amount = page.GetByLabel("Budget (USD a month)");
        await amount.FillAsync("-5");
        await page.Locator("[data-testid=save-budget]").ClickAsync();
        await Assertions.Expect(page.Locator(".validation-message")).ToContainTextAsync("from 0 to 1,000,000,000");
        await ShotAsync(page, "user-invalid-budget");

        await amount.FillAsync("4");
        // The amount is bound on change: let its round trip (which clears the message) finish before the checkbox is
        // clicked, or the re-render it causes can land on the click and undo the check.
        await amount.BlurAsync();
        await Assertions.Expect(page.Locator(".validation-message")).ToHaveCountAsync(0);

        // The budget's own alert thresholds: the configured ones shown, a bad list refused at the field.
        var thresholds = page.GetByLabel("Alert at (% of the budget, comma-separated; empty: no alerts)");
        await Assertions.Expect(thresholds).ToHaveValueAsync("80, 100");
        await thresholds.FillAsync("50, 1200");
        await thresholds.BlurAsync();
        await Assertions.Expect(page.Locator(".validation-message")).ToContainTextAsync("from 1 to 1000");
        await thresholds.FillAsync("50, 90");
        await thresholds.BlurAsync();
        await Assertions.Expect(page.Locator(".validation-message")).ToHaveCountAsync(0);
        await page.Locator("#budget-enforce").CheckAsync();
        await page.Locator("[data-testid=save-budget]").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=budget-message]")).ToHaveTextAsync("Budget saved.");
        await Assertions.Expect(page.Locator("[data-testid=budget-used]")).ToContainTextAsync("$3.00 of $4.00 (75%)");
        using (var stored = await app.Api.SendAsync(app.Admin(HttpMethod.Get, $"/api/v1/admin/budgets/{user}")))
        {
            Assert.Equal(HttpStatusCode.OK, stored.StatusCode);
            var budget = await System.Net.Http.Json.HttpContentJsonExtensions.ReadFromJsonAsync<System.Text.Json.JsonElement>(stored.Content);
            Assert.Equal(4m, budget.GetProperty("monthlyBudgetUsd").GetDecimal());
            Assert.True(budget.GetProperty("enforce").GetBoolean());
            Assert.Equal([50, 90], budget.GetProperty("thresholds").EnumerateArray().Select(t => t.GetInt32()));
        }

        // The budget bar marks the user's own thresholds.
        await Assertions.Expect(page.Locator("[data-testid=budget-bar] .threshold")).ToHaveTextAsync(["50%", "90%"]);

        await AssertAccessibleAsync(page);
        await ShotAsync(page, "user-budget-saved");

        await page.Locator("[data-testid=reset-budget]").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=budget-message]")).ToHaveTextAsync("Budget reset to the default.");
        await Assertions.Expect(page.Locator("[data-testid=budget-current]")).ToContainTextAsync("(the default)");
    }

    [Fact]
    public async Task The_tag_pages_show_each_values_spend_budget_use_and_its_users()
    {
        // gpt-4o output at $10 per million: 10M tokens cost $100 an event (below the overview test's users).
        var run = Guid.NewGuid().ToString("N")[..6];
        var (search, ads) = ($"search-{run}", $"ads-{run}");
        var (ann, bob) = ($"dash-tag-ann-{run}", $"dash-tag-bob-{run}");
        foreach (var (team, budget) in new[] { (search, 350m), (ads, 50m) })
        {
            using var set = await app.Api.SendAsync(app.Admin(HttpMethod.Put, $"/api/v1/admin/budgets/by/team/{team}", new { monthlyBudgetUsd = budget }));
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }

        using (var posted = await app.PostBatchAsync(new
        {
            events = new[] { (ann, search), (ann, search), (bob, search), (bob, ads) }
                .Select(e => new { userId = e.Item1, model = "gpt-4o", inputTokens = 0, outputTokens = 10_000_000, tags = new { team = e.Item2, feature = $"chat-{run}" } })
                .ToArray(),
        }))
        {
            Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        }

        await TagTests.WaitForValueAsync(app, "team", search, 3);
        await TagTests.WaitForValueAsync(app, "team", ads, 1);

        var page = await NewPageAsync();
        await SignInAsync(page, app.AdminApiKey);
        await page.GetByRole(AriaRole.Link, new() { Name = "By tag" }).ClickAsync();
        // The tag page's own heading first: a link is a full page load, and until it is done the ready marker found
        // would be the overview's.
        await Assertions.Expect(page.Locator("[data-testid=dimension]")).ToHaveTextAsync("environment");
        // A full load: the document is the tag page's own (enhanced navigation would keep the overview's document).
        Assert.EndsWith("/tags", await page.EvaluateAsync<string>("performance.getEntriesByType('navigation')[0].name"), StringComparison.Ordinal);
        await InteractiveAsync(page);
        // The dimension picker lists every configured dimension with the current one chosen; a pick navigates to
        // /tags/{dimension}, where this test goes directly: a pick made while the page's circuit was still attaching
        // was lost in one full run (the page stayed on environment), a race a test cannot wait out.
        await Assertions.Expect(page.GetByLabel("Tag")).ToHaveValueAsync("environment");
        await Assertions.Expect(page.GetByLabel("Tag").Locator("option[value=team]")).ToHaveCountAsync(1);
        var teamPage = await page.GotoAsync("/tags/team");
        Assert.Equal((int)HttpStatusCode.OK, teamPage!.Status);
        await Assertions.Expect(page.Locator("[data-testid=dimension]")).ToHaveTextAsync("team");
        await InteractiveAsync(page);
        var searchRow = page.Locator($"[data-testid=tag-values] tr[data-value='{search}']");
        var adsRow = page.Locator($"[data-testid=tag-values] tr[data-value='{ads}']");
        await Assertions.Expect(searchRow).ToContainTextAsync("$300.00");
        await Assertions.Expect(searchRow).ToContainTextAsync("85.71% of $350.00");
        await Assertions.Expect(searchRow).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("near-budget"));
        await Assertions.Expect(adsRow).ToContainTextAsync("$100.00");
        await Assertions.Expect(adsRow).ToContainTextAsync("over budget");
        var order = await page.Locator("[data-testid=tag-values] tbody tr").EvaluateAllAsync<string[]>("rs => rs.map(r => r.getAttribute('data-value'))");
        Assert.True(Array.IndexOf(order, search) >= 0 && Array.IndexOf(order, search) < Array.IndexOf(order, ads), string.Join(",", order));
        await AssertAccessibleAsync(page);
        await ShotAsync(page, "tags-team");

        await searchRow.GetByRole(AriaRole.Link, new() { Name = search }).ClickAsync();
        await InteractiveAsync(page);
        await Assertions.Expect(page.Locator("[data-testid=tag-value]")).ToHaveTextAsync(search);
        await Assertions.Expect(page.Locator("[data-testid=value-spend]")).ToHaveTextAsync("$300.00");
        await Assertions.Expect(page.Locator("[data-testid=value-requests]")).ToHaveTextAsync("3");
        await Assertions.Expect(page.Locator($"[data-testid=value-users] tr[data-user='{ann}']")).ToContainTextAsync("$200.00");
        await Assertions.Expect(page.Locator($"[data-testid=value-users] tr[data-user='{bob}']")).ToContainTextAsync("$100.00");
        await Assertions.Expect(page.Locator("[data-testid=value-models]")).ToContainTextAsync("gpt-4o");
        await AssertAccessibleAsync(page);
        await ShotAsync(page, "tag-value");

        // A value without usage says so.
        await page.GotoAsync($"/tags/team/nobody-{run}");
        await Assertions.Expect(page.Locator("[data-testid=unknown-value]")).ToContainTextAsync("has no usage");
    }

    [Fact]
    public async Task An_unknown_user_and_an_API_that_is_down_each_get_a_clear_message()
    {
        var page = await NewPageAsync();
        await SignInAsync(page, app.AdminApiKey);
        await page.GotoAsync($"/users/{AppFixture.NewUser("nobody")}");
        await Assertions.Expect(page.Locator("[data-testid=unknown-user]")).ToContainTextAsync("has no usage");
        await AssertAccessibleAsync(page);
        await ShotAsync(page, "unknown-user");

        await app.StopResourceAsync("apiservice");
        try
        {
            await page.GotoAsync("/");
            // The page waits up to Dashboard:ApiTimeout (5 s) for the API before it says so: the bound is above it.
            await Assertions.Expect(page.Locator("[data-testid=api-down]")).ToContainTextAsync("not answering", new() { Timeout = 30_000 });
            await ShotAsync(page, "api-down");
        }
        finally
        {
            await app.StartResourceAsync("apiservice");
        }

        // Live: the open overview recovers by itself once the API is back.
        await Assertions.Expect(page.Locator("[data-testid=total-spend]")).ToBeVisibleAsync(new() { Timeout = 60_000 });
    }
}
