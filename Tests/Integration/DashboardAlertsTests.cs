using Microsoft.Playwright;

namespace LlmCostTracker.Tests.Integration;

/// <summary>The dashboard's Alerts page in a real browser: the configured endpoints, and a test send whose answer
/// the page shows and whose delivery the test's receiver got.</summary>
[Collection(AppCollection.Name)]
public sealed class DashboardAlertsTests(AppFixture app) : IAsyncLifetime
{
    private DashboardBrowser _browser = null!;

    public async Task InitializeAsync() => _browser = await DashboardBrowser.StartAsync(app);

    public async Task DisposeAsync() => await _browser.DisposeAsync();

    [Fact]
    public async Task The_alerts_page_lists_the_endpoints_and_a_test_send_shows_the_endpoints_answer()
    {
        var page = await _browser.NewPageAsync();
        await DashboardBrowser.SignInAsync(page, app.AdminApiKey);
        // The main menu's link (users named "...alerts..." by other tests are links on the overview too).
        await page.GetByRole(AriaRole.Navigation, new() { Name = "Main" }).GetByRole(AriaRole.Link, new() { Name = "Alerts", Exact = true }).ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/alerts$"));
        await DashboardBrowser.InteractiveAsync(page);

        var rows = page.Locator("[data-testid=webhooks] tbody tr");
        await Assertions.Expect(rows).ToHaveCountAsync(2);
        await Assertions.Expect(rows.Nth(0)).ToContainTextAsync("json");
        await Assertions.Expect(rows.Nth(1)).ToContainTextAsync("slack");

        await page.Locator("[data-testid=test-0]").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=test-outcome]")).ToHaveTextAsync("delivered");
        await Assertions.Expect(page.Locator("[data-testid=test-status]")).ToHaveTextAsync("HTTP 200");
        var id = await page.Locator("[data-testid=test-webhook-id]").InnerTextAsync();
        var attempt = Assert.Single(app.Webhooks!.Attempts, a => a.WebhookId == id);
        Assert.Equal("/json", attempt.Path);
        await Assertions.Expect(page.Locator("[data-testid=test-body]")).ToContainTextAsync("\"test\":true");
        await DashboardBrowser.AssertAccessibleAsync(page);
        await DashboardBrowser.ShotAsync(page, "dashboard-alerts");
    }
}
