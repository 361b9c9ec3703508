using System.Net;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;

namespace LlmCostTracker.Tests.Integration;

/// <summary>Debian's chromium driven by Playwright against the running app's cost dashboard, with the steps every
/// dashboard test takes. Screenshots go under the test output's <c>screenshots/</c>.</summary>
public sealed class DashboardBrowser : IAsyncDisposable
{
    public const string ChromiumPath = "/usr/bin/chromium";
    public static readonly string Screenshots = Path.Combine(AppContext.BaseDirectory, "screenshots");
    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;
    private readonly Uri _dashboard;

    private DashboardBrowser(IPlaywright playwright, IBrowser browser, Uri dashboard) =>
        (_playwright, _browser, _dashboard) = (playwright, browser, dashboard);

    public static async Task<DashboardBrowser> StartAsync(AppFixture app)
    {
        using var healthy = new CancellationTokenSource(AppFixture.DefaultTimeout);
        await app.App.ResourceNotifications.WaitForResourceHealthyAsync("costdashboard", healthy.Token);
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = ChromiumPath, Args = ["--no-sandbox"], Headless = true });
        Directory.CreateDirectory(Screenshots);
        return new DashboardBrowser(playwright, browser, app.App.GetEndpoint("costdashboard", "http"));
    }

    public async Task<IPage> NewPageAsync()
    {
        var context = await _browser.NewContextAsync(new() { BaseURL = _dashboard.ToString(), ViewportSize = new() { Width = 1280, Height = 1000 } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(30_000);
        return page;
    }

    public static Task ShotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, $"{name}.png"), FullPage = true });

    public static async Task SignInAsync(IPage page, string key)
    {
        var response = await page.GotoAsync("/signin");
        Assert.Equal((int)HttpStatusCode.OK, response!.Status);
        await page.GetByLabel("Admin key").FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
    }

    /// <summary>Waits for the page's circuit (before it, clicks on interactive parts would be lost).</summary>
    public static Task InteractiveAsync(IPage page) =>
        page.Locator("[data-testid=ready][data-interactive=true]").WaitForAsync(new() { State = WaitForSelectorState.Attached });

    /// <summary>
    /// Rules whose verdict depends on what the element holds at the moment axe looks. A name on an element whose role
    /// forbids one is a violation while the element is empty and only "needs review" once it has text, so a chart
    /// checked before or after it drew gave two answers (a CI run failed on it). Their "needs review" counts too.
    /// </summary>
    private static readonly string[] ContentDependentRules = ["aria-prohibited-attr"];

    public static async Task AssertAccessibleAsync(IPage page)
    {
        var results = await page.RunAxe();
        var serious = results.Violations
            .Concat(results.Incomplete.Where(v => ContentDependentRules.Contains(v.Id)))
            .Where(v => v.Impact is "serious" or "critical").ToList();
        Assert.True(serious.Count == 0, string.Join("\n", serious.Select(v => $"{v.Id} ({v.Impact}): {v.Help} at {string.Join(", ", v.Nodes.Select(n => n.Html))}")));
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }
}
