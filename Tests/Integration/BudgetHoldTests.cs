using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace LlmCostTracker.Tests.Integration;

/// <summary>Budget holds through the running app: two API replicas behind the orchestrator's proxy, a three-master
/// Redis Cluster, the worker settling holds as it counts their events.</summary>
[Collection(ShardedCollection.Name)]
public sealed class BudgetHoldTests(ShardedAppFixture app)
{
    // gpt-4o with no input: maxOutputTokens × $10 per million output tokens.
    private const int TenCents = 10_000;
    private const int FiveCents = 5_000;

    private Task<HttpResponseMessage> HoldAsync(object body) => app.Api.SendAsync(app.Ingest("/api/v1/budget-holds", body));

    private static object Hold(string user, int maxOutputTokens, string? holdId = null, int? ttlSeconds = null) =>
        new { holdId, userId = user, model = "gpt-4o", inputTokens = 0, maxOutputTokens, ttlSeconds };

    private async Task<JsonElement> DetailAsync(string user)
    {
        using var response = await app.Api.SendAsync(app.Admin(HttpMethod.Get, $"/api/v1/admin/llm-costs/{user}"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>Posts holds at once; the granted ones' ids, asserting every other answer is a budget-exceeded 402.</summary>
    private async Task<List<string>> HoldAllAtOnceAsync(string user, int count, int maxOutputTokens)
    {
        var responses = await Task.WhenAll(Enumerable.Range(0, count).Select(_ => HoldAsync(Hold(user, maxOutputTokens))));
        var granted = new List<string>();
        foreach (var response in responses)
        {
            using (response)
            {
                var body = await response.Content.ReadFromJsonAsync<JsonElement>();
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    granted.Add(body.GetProperty("holdId").GetString()!);
                    continue;
                }

                if (response.StatusCode != HttpStatusCode.PaymentRequired)
                {
                    Assert.Fail($"A hold was answered {(int)response.StatusCode} {body}, not 201 or 402.\n{await app.FailureLogsAsync("apiservice")}");
                }

                Assert.Equal("budget-exceeded", body.GetProperty("type").GetString());
                Assert.True(body.TryGetProperty("remainingUsd", out _));
            }
        }

        return granted;
    }

    private static object Settling(string user, string holdId, string eventId) =>
        new { eventId, userId = user, model = "gpt-4o", inputTokens = 0, outputTokens = FiveCents, holdId };

    [Fact]
    public async Task Concurrent_holds_on_two_replicas_admit_exactly_the_budget_and_settled_holds_free_exactly_their_difference()
    {
        Assert.Equal(ShardedAppFixture.ApiReplicas, (await app.HealthyReplicasAsync("apiservice", ShardedAppFixture.ApiReplicas)).Count);
        var user = AppFixture.NewUser("holds");
        await app.EnforceBudgetAsync(user, 1.00m);

        // The worker counts other users' events while the holds race.
        var others = Enumerable.Range(0, 20).Select(i => AppFixture.NewUser($"busy{i}")).ToArray();
        var busy = Task.WhenAll(others.Select(async other =>
        {
            for (var i = 0; i < 5; i++)
            {
                using var response = await app.PostUsageAsync(FaultScenarios.Event(other));
                Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            }
        }));
        var granted = await HoldAllAtOnceAsync(user, 200, TenCents);
        await busy;

        Assert.Equal(10, granted.Count);
        Assert.Equal(1.00m, await HeldAsync(user));

        // Each call cost $0.05: settling frees its $0.10 hold and adds $0.05, in one step.
        var eventIds = granted.Select(_ => Guid.NewGuid().ToString("N")).ToArray();
        var batch = granted.Zip(eventIds).Select(p => Settling(user, p.First, p.Second)).ToArray();
        using (var posted = await app.PostBatchAsync(new { events = batch }))
        {
            Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        }

        var totals = await app.WaitForRequestsAsync(user, 10);
        Assert.Equal(500_000, totals["cost"]);
        var detail = await DetailAsync(user);
        Assert.Equal(0.50m, detail.GetProperty("costUsd").GetDecimal());
        Assert.Equal(0m, detail.GetProperty("heldUsd").GetDecimal());

        var more = await HoldAllAtOnceAsync(user, 40, FiveCents);
        Assert.Equal(10, more.Count);
        using var last = await HoldAsync(Hold(user, 1));
        Assert.Equal(HttpStatusCode.PaymentRequired, last.StatusCode);
        Assert.Equal(0m, (await last.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("remainingUsd").GetDecimal());
        Assert.Equal(0.50m, await HeldAsync(user));

        // Redelivered settling events count nothing and release nothing twice. A free event in the same message is
        // the barrier: once it is counted, so were they (one script call per user).
        var barrier = new { eventId = Guid.NewGuid().ToString("N"), userId = user, model = "gpt-4o", inputTokens = 0, outputTokens = 0 };
        using (var again = await app.PostBatchAsync(new { events = batch.Append(barrier).ToArray() }))
        {
            Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        }

        totals = await app.WaitForRequestsAsync(user, 11);
        Assert.Equal(11, totals["requests"]);
        Assert.Equal(500_000, totals["cost"]);
        Assert.Equal(0.50m, await HeldAsync(user));
    }

    [Fact]
    public async Task An_expired_hold_frees_its_amount_and_a_late_event_for_it_counts_once()
    {
        var user = AppFixture.NewUser("holds-ttl");
        await app.EnforceBudgetAsync(user, 0.10m);
        using var granted = await HoldAsync(Hold(user, TenCents, ttlSeconds: 1));
        Assert.Equal(HttpStatusCode.Created, granted.StatusCode);
        var hold = await granted.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(0m, hold.GetProperty("remainingUsd").GetDecimal());
        var holdId = hold.GetProperty("holdId").GetString()!;
        using (var refused = await HoldAsync(Hold(user, 1)))
        {
            Assert.Equal(HttpStatusCode.PaymentRequired, refused.StatusCode);
        }

        // Expiry needs no sweeper: the next hold after the ttl finds the amount free.
        var next = await Eventually.ReturnsAsync(
            async () =>
            {
                using var response = await HoldAsync(Hold(user, 1, ttlSeconds: 1));
                return response.StatusCode;
            },
            status => status == HttpStatusCode.Created, TimeSpan.FromSeconds(10), "the expired hold to free its amount");
        Assert.Equal(HttpStatusCode.Created, next);

        var eventId = Guid.NewGuid().ToString("N");
        for (var i = 0; i < 2; i++)
        {
            using var late = await app.PostUsageAsync(Settling(user, holdId, eventId));
            Assert.Equal(HttpStatusCode.Accepted, late.StatusCode);
        }

        var totals = await app.WaitForRequestsAsync(user, 1);
        Assert.Equal(50_000, totals["cost"]);
        Assert.Equal(1, totals["requests"]);
    }

    [Fact]
    public async Task The_user_detail_shows_a_live_hold_and_not_one_that_expired()
    {
        var user = AppFixture.NewUser("holds-report");
        await app.EnforceBudgetAsync(user, 1.00m);
        using (var posted = await app.PostUsageAsync(FaultScenarios.Event(user)))
        {
            Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        }

        await app.WaitForRequestsAsync(user, 1);
        // 3 s: long enough for the read right after the grant on a loaded machine, short for the wait after it.
        using (var granted = await HoldAsync(Hold(user, TenCents, ttlSeconds: 3)))
        {
            Assert.Equal(HttpStatusCode.Created, granted.StatusCode);
        }

        // Live: the stored sum, read without the script. Expired: the report frees it (through the script) first.
        Assert.Equal(0.10m, (await DetailAsync(user)).GetProperty("heldUsd").GetDecimal());
        await Eventually.ReturnsAsync(
            async () => (await DetailAsync(user)).GetProperty("heldUsd").GetDecimal(),
            held => held == 0m, TimeSpan.FromSeconds(15), "the expired hold to leave the report");
        Assert.Equal(0m, await HeldAsync(user));
    }

    [Fact]
    public async Task A_released_hold_frees_its_amount_and_a_repeated_hold_id_answers_the_same_hold()
    {
        var user = AppFixture.NewUser("holds-release");
        await app.EnforceBudgetAsync(user, 0.10m);
        var holdId = $"call-{Guid.NewGuid():N}";

        using var first = await HoldAsync(Hold(user, TenCents, holdId));
        using var repeated = await HoldAsync(Hold(user, TenCents, holdId));
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, repeated.StatusCode);
        Assert.Equal($"/api/v1/budget-holds/{holdId}", first.Headers.Location?.OriginalString);
        // Both answers carry the hold as JSON with its length (SizedJson), not chunked, and name the same hold.
        foreach (var answer in new[] { first, repeated })
        {
            Assert.NotEqual(true, answer.Headers.TransferEncodingChunked);
            Assert.Equal("application/json; charset=utf-8", answer.Content.Headers.ContentType?.ToString());
            var text = await answer.Content.ReadAsStringAsync();
            Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(text), answer.Content.Headers.ContentLength);
            using var hold = JsonDocument.Parse(text);
            Assert.Equal(holdId, hold.RootElement.GetProperty("holdId").GetString());
            Assert.Equal(user, hold.RootElement.GetProperty("userId").GetString());
            Assert.Equal(0.10m, hold.RootElement.GetProperty("heldUsd").GetDecimal());
            Assert.True(hold.RootElement.GetProperty("enforced").GetBoolean());
        }

        using var release = await app.Api.SendAsync(Delete(holdId));
        using var releaseAgain = await app.Api.SendAsync(Delete(holdId));
        using var unknown = await app.Api.SendAsync(Delete("never-granted"));
        Assert.Equal(HttpStatusCode.NoContent, release.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, releaseAgain.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);

        using var after = await HoldAsync(Hold(user, TenCents));
        Assert.Equal(HttpStatusCode.Created, after.StatusCode);
        using var otherUser = await HoldAsync(Hold(AppFixture.NewUser("holds-other"), TenCents, holdId));
        Assert.Equal(HttpStatusCode.Conflict, otherUser.StatusCode);
    }

    [Theory]
    [InlineData("""{"userId":"u","model":"gpt-4o","inputTokens":1,"maxOutputTokens":1,"maxTokens":5}""", "maxTokens")]
    [InlineData("""{"userId":"u","model":"gpt-4o","inputTokens":-1,"maxOutputTokens":1}""", "inputTokens")]
    [InlineData("""{"userId":"u","model":"gpt-4o","inputTokens":1,"maxOutputTokens":100000001}""", "maxOutputTokens")]
    [InlineData("""{"userId":"u","model":"gpt-4o","inputTokens":1,"maxOutputTokens":0}""", "maxOutputTokens")]
    [InlineData("""{"userId":"u","model":"gpt-4o","inputTokens":1,"maxOutputTokens":1,"ttlSeconds":3601}""", "ttlSeconds")]
    [InlineData("""{"userId":"u","model":"gpt-4o","inputTokens":1,"maxOutputTokens":1,"ttlSeconds":0}""", "ttlSeconds")]
    [InlineData("""{"userId":"u","holdId":"a b","model":"gpt-4o","inputTokens":1,"maxOutputTokens":1}""", "holdId")]
    [InlineData("""{"userId":"u u","model":"gpt-4o","inputTokens":1,"maxOutputTokens":1}""", "userId")]
    [InlineData("""{"userId":"u","model":"gpt-4o","inputTokens":1,"maxOutputTokens":1,"serviceTier":"gold"}""", "serviceTier")]
    [InlineData("""{"userId":"u","inputTokens":1,"maxOutputTokens":1}""", "model")]
    public async Task Bad_input_is_refused_naming_the_field_and_reserves_nothing(string body, string field)
    {
        var user = AppFixture.NewUser("holds-bad");
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/budget-holds")
        {
            Content = new StringContent(body.Replace("\"u\"", $"\"{user}\"", StringComparison.Ordinal),
                System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Api-Key", app.IngestApiKey);

        using var response = await app.Api.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), await response.Content.ReadAsStringAsync());
        Assert.False(await app.Redis.GetDatabase().KeyExistsAsync(app.Keys.UserHoldData(user)));
    }

    private HttpRequestMessage Delete(string holdId)
    {
        var request = new HttpRequestMessage(HttpMethod.Delete, $"/api/v1/budget-holds/{holdId}");
        request.Headers.Add("X-Api-Key", app.IngestApiKey);
        return request;
    }

    /// <summary>The user's held sum as stored (the user has no usage yet, so no report row to read it from).</summary>
    private async Task<decimal> HeldAsync(string user) => Ledger.BudgetOptions.ToUsd(await app.HeldMicrosAsync(user));
}
