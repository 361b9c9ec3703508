using System.Globalization;
using Microsoft.Playwright;
using Npgsql;

namespace LlmCostTracker.Tests.Integration;

/// <summary>The dashboard beyond the two months Redis keeps, in a real browser: months three and four back exist only
/// in the history database (written there as the rollup writer writes them), and the overview shows them with month
/// over month.</summary>
[Collection(HistoryCollection.Name)]
public sealed class DashboardHistoryTests(HistoryAppFixture app) : IAsyncLifetime
{
    private DashboardBrowser _browser = null!;

    public async Task InitializeAsync() => _browser = await DashboardBrowser.StartAsync(app);

    public async Task DisposeAsync() => await _browser.DisposeAsync();

    [Fact]
    public async Task The_overview_picks_a_month_Redis_let_go_and_compares_it_with_the_month_before()
    {
        var now = DateTime.UtcNow;
        var thisMonth = new DateOnly(now.Year, now.Month, 1);
        var (older, old) = (thisMonth.AddMonths(-4), thisMonth.AddMonths(-3));
        var run = Guid.NewGuid().ToString("N")[..6];
        var (a, b) = ($"dash-hist-a-{run}", $"dash-hist-b-{run}");
        // The month four back spent $10; three back $15 (a $12, b $3): +50%.
        await InsertRowsAsync(
            (older.AddDays(9), a, 10_000_000),
            (old.AddDays(2), a, 12_000_000),
            (old.AddDays(19), b, 3_000_000));

        var page = await _browser.NewPageAsync();
        await DashboardBrowser.SignInAsync(page, app.AdminApiKey);
        await DashboardBrowser.InteractiveAsync(page);
        var oldKey = old.ToString("yyyy-MM", CultureInfo.InvariantCulture);
        await page.Locator("#month").SelectOptionAsync(oldKey);
        await Assertions.Expect(page.GetByTestId("total-spend")).ToHaveTextAsync("$15.00");
        await Assertions.Expect(page.GetByTestId("month-over-month")).ToHaveTextAsync("+50.0%");
        var olderName = older.ToDateTime(TimeOnly.MinValue).ToString("MMMM yyyy", CultureInfo.GetCultureInfo("en-US"));
        await Assertions.Expect(page.GetByTestId("month-over-month-against")).ToHaveTextAsync($"vs $10.00 in {olderName}");
        var rows = page.Locator("[data-testid=users] tbody tr");
        Assert.Equal([a, b], [.. await rows.EvaluateAllAsync<string[]>("rs => rs.map(r => r.getAttribute('data-user'))")]);
        await DashboardBrowser.AssertAccessibleAsync(page);
        await DashboardBrowser.ShotAsync(page, "overview-history-month");

        // The month before it has nothing before it to compare with.
        await page.Locator("#month").SelectOptionAsync(older.ToString("yyyy-MM", CultureInfo.InvariantCulture));
        await Assertions.Expect(page.GetByTestId("total-spend")).ToHaveTextAsync("$10.00");
        await Assertions.Expect(page.GetByTestId("month-over-month")).ToHaveTextAsync("–");
        await Assertions.Expect(page.GetByTestId("month-over-month-against")).ToContainTextAsync("no spend in");

        // A user's page of that month reads it from history too.
        await page.GotoAsync($"/users/{a}?month={oldKey}");
        await Assertions.Expect(page.GetByTestId("user-spend")).ToHaveTextAsync("$12.00");
        await DashboardBrowser.ShotAsync(page, "user-history-month");
    }

    /// <summary>Daily rows of gpt-4o usage as the rollup writer stores them (the schema applied first, as a service
    /// does at start).</summary>
    private async Task InsertRowsAsync(params (DateOnly Day, string User, long CostMicros)[] rows)
    {
        await using var dataSource = NpgsqlDataSource.Create((await app.HistoryConnectionStringAsync())!);
        await LlmCostTracker.History.HistorySchema.MigrateAsync(dataSource, CancellationToken.None);
        foreach (var (day, user, cost) in rows)
        {
            await using var insert = dataSource.CreateCommand(
                "INSERT INTO usage_daily (day, user_id, model, provider, service_tier, context_band, requests, input_tokens, cached_input_tokens, " +
                "cache_write_input_tokens, cache_write_1h_input_tokens, audio_input_tokens, output_tokens, reasoning_output_tokens, audio_output_tokens, cost_micros) " +
                "VALUES ($1, $2, 'gpt-4o', 'openai', 'standard', 0, 1, 0, 0, 0, 0, 0, $3, 0, 0, $4)");
            insert.Parameters.Add(new NpgsqlParameter<DateOnly> { TypedValue = day });
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = user });
            insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = cost / 10 });
            insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = cost });
            Assert.Equal(1, await insert.ExecuteNonQueryAsync());
        }
    }
}
