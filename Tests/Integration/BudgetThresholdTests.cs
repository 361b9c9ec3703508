using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace LlmCostTracker.Tests.Integration;

/// <summary>Thresholds per budget (<c>thresholds</c> on <c>PUT /api/v1/admin/budgets/...</c>), on the cluster with two
/// API replicas: each of a budget's own thresholds fires once under concurrent posts, and only those.</summary>
[Collection(ShardedCollection.Name)]
public sealed class BudgetThresholdTests(ShardedAppFixture app)
{
    [Fact]
    public async Task A_users_own_thresholds_each_fire_once_under_40_concurrent_posts_and_only_they()
    {
        var user = AppFixture.NewUser("own-thresholds");
        // $0.01 with alerts at 25, 50 and 75%: 40 events of 1,250 µ$ reach 500%, past every one of them (and past the
        // configured 80 and 100, which this user no longer has).
        using (var put = await app.Api.SendAsync(app.Admin(HttpMethod.Put, $"/api/v1/admin/budgets/{user}", new { monthlyBudgetUsd = 0.01m, thresholds = new[] { 75, 25, 50 } })))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            var stored = Thresholds(await put.Content.ReadFromJsonAsync<JsonElement>());
            Assert.Equal([25, 50, 75], stored);
        }

        // Refused, naming the field, and nothing stored: a zero, a repeat, eleven of them.
        foreach (var bad in new[] { new[] { 0 }, new[] { 50, 50 }, Enumerable.Range(1, 11).ToArray() })
        {
            using var refused = await app.Api.SendAsync(app.Admin(HttpMethod.Put, $"/api/v1/admin/budgets/{user}", new { monthlyBudgetUsd = 5m, thresholds = bad }));
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.True((await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("thresholds", out _), string.Join(",", bad));
        }

        using (var get = await app.Api.SendAsync(app.Admin(HttpMethod.Get, $"/api/v1/admin/budgets/{user}")))
        {
            var budget = await get.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(0.01m, budget.GetProperty("monthlyBudgetUsd").GetDecimal());
            Assert.Equal([25, 50, 75], Thresholds(budget));
        }

        await using var listener = await AlertListener.StartAsync(app.AlertSubscriber, user);
        await FaultScenarios.PostAcceptedAsync(app, user, 40);
        await app.WaitForRequestsAsync(user, 40);
        await listener.WaitForAsync(3);

        // One alert per own threshold, and their states in the month: none for 80 or 100.
        var states = await Eventually.ReturnsAsync(
            () => app.AlertStatesAsync(user), s => s.All(e => e.Value.ToString().StartsWith("sent|", StringComparison.Ordinal)) && s.Length >= 3,
            because: "the alerts to be marked sent");
        Assert.Equal(["alert|25", "alert|50", "alert|75"], states.Select(s => s.Name.ToString()).Order(StringComparer.Ordinal));
        Assert.Equal([25, 50, 75], listener.Received.Select(a => a.ThresholdPercent).Order());

        // Back to the defaults: the configured thresholds again.
        using var reset = await app.Api.SendAsync(app.Admin(HttpMethod.Delete, $"/api/v1/admin/budgets/{user}"));
        Assert.Equal(HttpStatusCode.OK, reset.StatusCode);
        var defaults = Thresholds(await reset.Content.ReadFromJsonAsync<JsonElement>());
        Assert.Equal([80, 100], defaults);
    }

    [Fact]
    public async Task A_team_budgets_own_thresholds_each_fire_once_under_40_concurrent_posts_and_only_they()
    {
        var team = $"own-{Guid.NewGuid().ToString("N")[..8]}";
        using (var put = await app.Api.SendAsync(app.Admin(HttpMethod.Put, $"/api/v1/admin/budgets/by/team/{team}", new { monthlyBudgetUsd = 0.01m, thresholds = new[] { 30, 60 } })))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            var stored = Thresholds(await put.Content.ReadFromJsonAsync<JsonElement>());
            Assert.Equal([30, 60], stored);
        }

        using (var refused = await app.Api.SendAsync(app.Admin(HttpMethod.Put, $"/api/v1/admin/budgets/by/team/{team}", new { monthlyBudgetUsd = 1m, thresholds = new[] { 1001 } })))
        {
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.True((await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("thresholds", out _));
        }

        await using var listener = await AlertListener.StartAsync(app.AlertSubscriber, "team", team);
        var users = Enumerable.Range(0, 8).Select(i => AppFixture.NewUser($"ownteam{i}")).ToArray();
        var responses = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => app.PostUsageAsync(
            new { eventId = Guid.NewGuid().ToString("N"), userId = users[i % 8], model = "gpt-4o", inputTokens = 100, outputTokens = 100, tags = new Dictionary<string, string> { ["team"] = team } })));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        await TagTests.WaitForValueAsync(app, "team", team, 40);
        await listener.WaitForAsync(2);

        // One more event after every threshold was crossed publishes nothing more.
        Assert.Equal(HttpStatusCode.Accepted, (await app.PostUsageAsync(
            new { eventId = Guid.NewGuid().ToString("N"), userId = users[0], model = "gpt-4o", inputTokens = 100, outputTokens = 100, tags = new Dictionary<string, string> { ["team"] = team } })).StatusCode);
        await TagTests.WaitForValueAsync(app, "team", team, 41);
        Assert.Equal([30, 60], listener.Received.Select(a => a.ThresholdPercent).Order());

        using var delete = await app.Api.SendAsync(app.Admin(HttpMethod.Delete, $"/api/v1/admin/budgets/by/team/{team}"));
        var defaults = Thresholds(await delete.Content.ReadFromJsonAsync<JsonElement>());
        Assert.Equal([80, 100], defaults);
    }

    private static int[] Thresholds(JsonElement budget) => [.. budget.GetProperty("thresholds").EnumerateArray().Select(t => t.GetInt32())];
}
