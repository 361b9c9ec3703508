using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;

namespace LlmCostTracker.Tests.Integration;

/// <summary>The cost dashboard tells the truth about prices, and reads at 10 models and at 300: the overview's
/// fallback share, the Pricing page (unknown ids, a lookup, the catalog), the spend-by-model bars. Its screenshots
/// are the ones in docs/ (<c>dashboard-*-10.png</c>, <c>dashboard-*-300.png</c>).</summary>
[Collection(AppCollection.Name)]
public sealed class DashboardPricingTests(AppFixture app) : IAsyncLifetime
{
    /// <summary>Catalog models with a price, then invented ids that the catalog does not know.</summary>
    private static readonly string[] Known = ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "o3", "claude-sonnet-4", "claude-haiku-4-5", "gemini-2.5-pro", "gemini-2.5-flash", "gpt-5-mini"];

    private DashboardBrowser _browser = null!;

    public async Task InitializeAsync() => _browser = await DashboardBrowser.StartAsync(app);

    public async Task DisposeAsync() => await _browser.DisposeAsync();

    [Fact]
    public async Task At_10_and_300_models_the_overview_user_page_and_pricing_page_say_what_is_priced_at_the_fallback()
    {
        var run = Guid.NewGuid().ToString("N")[..6];
        // 10 models last month (nine known, one unknown); 300 this month (nine known, 291 unknown).
        var lastMonth = new DateTimeOffset(DateTime.UtcNow.Year, DateTime.UtcNow.Month, 1, 12, 0, 0, TimeSpan.Zero).AddDays(-1);
        var small = $"shots-10-{run}";
        var large = $"shots-300-{run}";
        var smallUnknown = $"acme-llm-{run}-0";
        await PostModelsAsync(small, [.. Known, smallUnknown], lastMonth);
        var largeUnknown = Enumerable.Range(0, 291).Select(i => $"acme-llm-{run}-{i}").ToArray();
        await PostModelsAsync(large, [.. Known, .. largeUnknown], occurredAt: null);
        await app.WaitForRequestsAsync(small, 10, LastMonthKey(lastMonth));
        await app.WaitForRequestsAsync(large, 300);
        // The pages show the fallback's ids as the worker records them, just after the ledger write that counted them
        // (Pricing:UnknownModelsFlushInterval): a page rendered before that would not name them.
        await WaitForUnknownAsync(LastMonthKey(lastMonth), smallUnknown);
        await WaitForUnknownAsync(AppFixture.CurrentMonth, largeUnknown[290]);

        var page = await _browser.NewPageAsync();
        await DashboardBrowser.SignInAsync(page, app.AdminApiKey);
        await DashboardBrowser.InteractiveAsync(page);

        // This month: the fallback share names the unknown ids; every model has a bar, sorted by spend.
        var fallback = page.Locator("[data-testid=fallback-share]");
        await Assertions.Expect(fallback).ToContainTextAsync("priced at the fallback");
        // The costliest ids by name (the largest events are the last posted), the rest counted.
        await Assertions.Expect(fallback).ToContainTextAsync(largeUnknown[290]);
        await Assertions.Expect(fallback).Not.ToContainTextAsync(largeUnknown[0] + ",");
        await Assertions.Expect(fallback).ToContainTextAsync(new System.Text.RegularExpressions.Regex(@"and \d+ more"));
        var models = page.Locator("[data-testid=models] tbody tr");
        Assert.True(await models.CountAsync() >= 300, $"{await models.CountAsync()} model rows");
        await Assertions.Expect(models.Filter(new() { HasText = largeUnknown[0] })).ToContainTextAsync("fallback");
        await AssertSortedBySpendAsync(page);
        await Assertions.Expect(page.Locator(".chart").First).ToContainTextAsync(DateTime.UtcNow.ToString("MMM ", CultureInfo.InvariantCulture));
        await DashboardBrowser.AssertAccessibleAsync(page);
        await DashboardBrowser.ShotAsync(page, "dashboard-overview-300");

        await page.GotoAsync($"/users/{large}");
        await DashboardBrowser.InteractiveAsync(page);
        await Assertions.Expect(page.Locator("[data-testid=user-models] tbody tr")).ToHaveCountAsync(300);
        await DashboardBrowser.ShotAsync(page, "dashboard-user-300");

        // The Pricing page: this month's unknown ids, a lookup that resolves a dated id to its entry, the catalog.
        await page.GotoAsync("/pricing");
        await DashboardBrowser.InteractiveAsync(page);
        await Assertions.Expect(page.Locator("[data-testid=unknown-models] tbody tr").Filter(new() { HasText = largeUnknown[290] })).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("[data-testid=unknown-models]")).Not.ToContainTextAsync("gpt-4o-mini");
        await Assertions.Expect(page.Locator("[data-testid=catalog-as-of]")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^\d{4}-\d{2}-\d{2}$"));
        await page.GetByLabel("Model id", new() { Exact = true }).FillAsync("gpt-4o-2024-08-06");
        await page.GetByRole(AriaRole.Button, new() { Name = "Look up" }).ClickAsync();
        var lookup = page.Locator("[data-testid=lookup-result]");
        await Assertions.Expect(lookup).ToContainTextAsync("gpt-4o");
        await Assertions.Expect(lookup).ToContainTextAsync("$2.5");
        await DashboardBrowser.AssertAccessibleAsync(page);
        await DashboardBrowser.ShotAsync(page, "dashboard-pricing-300");

        await page.GetByLabel("Model id", new() { Exact = true }).FillAsync(largeUnknown[1]);
        await page.GetByRole(AriaRole.Button, new() { Name = "Look up" }).ClickAsync();
        await Assertions.Expect(lookup).ToContainTextAsync("the fallback price");

        // Last month, about ten models (other tests may have used a few): the same pages.
        await page.GetByLabel("Month", new() { Exact = true }).SelectOptionAsync(LastMonthKey(lastMonth));
        await Assertions.Expect(page.Locator("[data-testid=unknown-models]")).ToContainTextAsync(smallUnknown);
        await Assertions.Expect(page.Locator("[data-testid=unknown-models]")).Not.ToContainTextAsync(largeUnknown[1]);
        await DashboardBrowser.ShotAsync(page, "dashboard-pricing-10");

        await page.GotoAsync("/");
        await DashboardBrowser.InteractiveAsync(page);
        await page.GetByLabel("Month", new() { Exact = true }).SelectOptionAsync(LastMonthKey(lastMonth));
        await Assertions.Expect(page.Locator("[data-testid=fallback-share]")).ToContainTextAsync(smallUnknown);
        await Assertions.Expect(page.Locator("[data-testid=models]")).ToContainTextAsync("gemini-2.5-flash");
        await AssertSortedBySpendAsync(page);
        await DashboardBrowser.ShotAsync(page, "dashboard-overview-10");

        await page.GotoAsync($"/users/{small}?month={LastMonthKey(lastMonth)}");
        await DashboardBrowser.InteractiveAsync(page);
        await Assertions.Expect(page.Locator("[data-testid=user-models] tbody tr")).ToHaveCountAsync(10);
        await DashboardBrowser.ShotAsync(page, "dashboard-user-10");
    }

    private async Task WaitForUnknownAsync(string month, string model) => await Eventually.ReturnsAsync(
        async () =>
        {
            using var report = await app.Api.SendAsync(app.Admin(HttpMethod.Get, $"/api/v1/admin/pricing/unknown-models?month={month}"));
            Assert.Equal(HttpStatusCode.OK, report.StatusCode);
            return (await report.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("models").EnumerateArray().Any(m => m.GetProperty("model").GetString() == model);
        },
        listed => listed, because: $"{model} to be listed among {month}'s models priced at the fallback");

    private static string LastMonthKey(DateTimeOffset lastMonth) => lastMonth.ToString("yyyy-MM", CultureInfo.InvariantCulture);

    /// <summary>One event per model for the user, each a different size so the spend differs, in batches.</summary>
    private async Task PostModelsAsync(string user, string[] models, DateTimeOffset? occurredAt)
    {
        foreach (var chunk in models.Select((model, i) => (model, i)).Chunk(100))
        {
            using var posted = await app.PostBatchAsync(new
            {
                events = chunk.Select(m => new { userId = user, model = m.model, inputTokens = 1_000 * (m.i + 1), outputTokens = 500, occurredAt }).ToArray(),
            });
            Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        }
    }

    private static async Task AssertSortedBySpendAsync(IPage page)
    {
        var spends = await page.Locator("[data-testid=models] tbody tr td:nth-child(3)").AllTextContentsAsync();
        var amounts = spends.Select(s => decimal.Parse(s.TrimStart('$'), NumberStyles.Number, CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(amounts.OrderByDescending(a => a), amounts);
    }
}
