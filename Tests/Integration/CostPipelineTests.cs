using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using LlmCostTracker.ApiService.Apis;
using LlmCostTracker.Contracts;
using LlmCostTracker.Ledger;

namespace LlmCostTracker.Tests.Integration;

public abstract class CostPipelineTests(AppFixture app)
{
    [Theory]
    [InlineData("gpt-4", 90_000)]                       // 1,000 × 30 + 1,000 × 60
    [InlineData("gpt-4-turbo", 40_000)]
    [InlineData("gpt-4o", 12_500)]
    [InlineData("gpt-4o-mini", 750)]
    [InlineData("gpt-3.5-turbo", 2_000)]
    [InlineData("claude-3-opus", 90_000)]
    [InlineData("claude-3-sonnet", 18_000)]
    [InlineData("claude-3-5-sonnet", 18_000)]
    [InlineData("claude-3-haiku", 1_500)]
    [InlineData("openai/gpt-4o", 12_500)]              // provider prefix removed
    [InlineData("gpt-4o-2024-08-06", 12_500)]          // date suffix → gpt-4o
    [InlineData("gpt-4o-mini-2024-07-18", 750)]        // never priced as gpt-4o
    [InlineData("claude-3-haiku-20240307", 1_500)]
    [InlineData("gpt-5", 11_250)]                      // 1,000 × 1.25 + 1,000 × 10
    [InlineData("gpt-4.1", 10_000)]                    // never priced as gpt-4
    [InlineData("o4-mini", 5_500)]
    [InlineData("claude-sonnet-4-5-20250929", 18_000)]
    [InlineData("us.anthropic.claude-haiku-4-5-20251001-v1:0", 6_600)] // Bedrock's regional price: 1,000 × 1.1 + 1,000 × 5.5
    [InlineData("gemini-2.5-pro", 11_250)]
    [InlineData("some-unknown-model", 40_000)]         // fallback 10 / 30, never $0
    public async Task Each_model_is_priced_at_its_list_price_in_micro_dollars(string model, long expectedMicros)
    {
        var user = AppFixture.NewUser("price");
        var response = await app.PostUsageAsync(new { userId = user, model, inputTokens = 1000, outputTokens = 1000 });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);

        var totals = await app.WaitForRequestsAsync(user, 1);
        Assert.Equal(expectedMicros, totals["cost"]);
        Assert.Equal(1000, totals["input"]);
        Assert.Equal(1000, totals["output"]);
        var perModel = await app.Redis.GetDatabase().HashGetAsync(app.Keys.UserMonth(user, AppFixture.CurrentMonth), LedgerKeys.ModelField(model));
        Assert.Equal([expectedMicros, 1000, 0, 1000, 1, 0, 0], LedgerKeys.ParseModelCounters(perModel!));
    }

    [Fact]
    public async Task Cached_input_tokens_are_priced_at_the_cached_price()
    {
        var user = AppFixture.NewUser("cached");
        await app.PostUsageAsync(new { userId = user, model = "gpt-4o", inputTokens = 1000, cachedInputTokens = 200, outputTokens = 500 });

        var totals = await app.WaitForRequestsAsync(user, 1);
        Assert.Equal(7_250, totals["cost"]);
        Assert.Equal(200, totals["cached"]);
    }

    [Fact]
    public async Task A_duplicate_event_id_counts_once_reposted_concurrent_in_a_batch_alone_and_with_a_trailing_slash()
    {
        var user = AppFixture.NewUser("dup");
        var eventId = $"resp-{Guid.NewGuid():N}";
        var usage = new { eventId, userId = user, model = "gpt-4o", inputTokens = 1000, outputTokens = 1000 };

        Assert.Equal(HttpStatusCode.Accepted, (await app.PostUsageAsync(usage)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await app.PostUsageAsync(usage)).StatusCode);
        var concurrent = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => app.PostUsageAsync(usage)));
        Assert.All(concurrent, r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        var batch = await app.PostBatchAsync(new { events = new[] { usage, usage, usage } });
        Assert.Equal(HttpStatusCode.Accepted, batch.StatusCode);
        // The route with a trailing slash is the same endpoint (its template has none since the span names it).
        using (var slashed = app.Ingest(UsageApi.Route + "/", usage))
        using (var response = await app.Api.SendAsync(slashed))
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        // Every duplicate was confirmed by the broker before the marker was posted; the marker is counted
        // by the time the totals show 2 requests, so a third would mean a duplicate counted.
        var marker = new { eventId = $"marker-{Guid.NewGuid():N}", userId = user, model = "gpt-4o", inputTokens = 0, outputTokens = 0 };
        Assert.Equal(HttpStatusCode.Accepted, (await app.PostUsageAsync(marker)).StatusCode);
        var totals = await app.WaitForRequestsAsync(user, 2);

        Assert.Equal(2, totals["requests"]);
        Assert.Equal(12_500, totals["cost"]);
        var monthScore = await app.MonthScoreAsync(user);
        Assert.Equal(12_500, monthScore);
    }

    [Fact]
    public async Task An_event_lands_in_the_month_of_its_occurredAt()
    {
        var user = AppFixture.NewUser("month");
        var now = DateTimeOffset.UtcNow;
        var lastMonthEnd = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddSeconds(-30);
        var lastMonth = lastMonthEnd.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture);

        await app.PostBatchAsync(new
        {
            events = new object[]
            {
                new { userId = user, model = "gpt-4o", inputTokens = 1000, outputTokens = 0, occurredAt = lastMonthEnd },
                new { userId = user, model = "gpt-4o", inputTokens = 0, outputTokens = 1000 },
            },
        });

        var previous = await app.WaitForRequestsAsync(user, 1, lastMonth);
        var current = await app.WaitForRequestsAsync(user, 1);
        Assert.Equal(2_500, previous["cost"]);
        Assert.Equal(10_000, current["cost"]);
        var daily = await app.Redis.GetDatabase().HashGetAsync(app.Keys.UserMonth(user, lastMonth), LedgerKeys.DayField(lastMonthEnd.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(2_500, (long)daily);
    }

    [Fact]
    public async Task Keys_expire_35_days_after_the_end_of_their_month()
    {
        var user = AppFixture.NewUser("ttl");
        var posted = await app.PostUsageAsync(new { eventId = "ttl-1", userId = user, model = "gpt-4o", inputTokens = 10, outputTokens = 10 });
        Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        await app.WaitForRequestsAsync(user, 1);

        var now = DateTimeOffset.UtcNow;
        var expected = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1).AddDays(35) - now;
        var db = app.Redis.GetDatabase();
        foreach (var key in new[]
        {
            app.Keys.UserMonth(user, AppFixture.CurrentMonth), app.Keys.MonthTotals(app.Keys.BucketOf(user), AppFixture.CurrentMonth),
            app.Keys.MonthUsers(app.Keys.BucketOf(user), AppFixture.CurrentMonth),
        })
        {
            var ttl = await db.KeyTimeToLiveAsync(key);
            Assert.NotNull(ttl);
            Assert.InRange(ttl.Value, expected - TimeSpan.FromMinutes(2), expected + TimeSpan.FromMinutes(2));
        }

        // The claims are kept for the dedup window (7 days by default) after their period, not for the month.
        var claims = new ClaimWindow(new LedgerOptions().DedupWindow);
        var period = claims.PeriodOf(now);
        var claimsTtl = await db.KeyTimeToLiveAsync(app.Keys.Claims(app.Keys.BucketOf(user), claims.KeyPart(period)));
        Assert.NotNull(claimsTtl);
        Assert.InRange(claimsTtl.Value, claims.ExpiresAt(period) - now - TimeSpan.FromMinutes(2), claims.ExpiresAt(period) - now + TimeSpan.FromMinutes(2));

        // A ledger that began with this version: its claims in the current form only (docs/guarantees.md).
        Assert.Equal("0", (string?)await db.StringGetAsync(LedgerKeys.ClaimFormKey));
        var set = app.Keys.Claims(app.Keys.BucketOf(user), claims.KeyPart(period));
        Assert.True(await db.SetContainsAsync(set, ClaimWindow.Digest(user, "ttl-1")));
        Assert.False(await db.SetContainsAsync(set, ClaimWindow.LegacyDigest(user, "ttl-1")));
    }

    [Fact]
    public async Task Many_concurrent_events_crossing_the_budget_publish_exactly_one_alert_per_threshold()
    {
        var user = AppFixture.NewUser("alert");
        await using var listener = await AlertListener.StartAsync(app.AlertSubscriber, user);
        var received = listener.Received;
        // 40 events of $0.25 (gpt-4o, 25,000 output tokens) = $10 against the $6 default budget.
        var posts = Enumerable.Range(0, 40).Select(_ =>
            app.PostUsageAsync(new { userId = user, model = "gpt-4o", inputTokens = 0, outputTokens = 25_000 }));
        Assert.All(await Task.WhenAll(posts), r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        await app.WaitForRequestsAsync(user, 40);

        // Both alerts are marked sent only after they were published.
        await Eventually.ReturnsAsync(
            () => app.AlertStatesAsync(user),
            alerts => alerts.Length == 2 && alerts.All(a => a.Value.ToString().StartsWith("sent|", StringComparison.Ordinal)));
        await Eventually.ReturnsAsync(() => Task.FromResult(received.Count), count => count >= 2);

        var alerts = received.OrderBy(a => a.ThresholdPercent).ToArray();
        Assert.Equal([80, 100], alerts.Select(a => a.ThresholdPercent));
        Assert.All(alerts, a => Assert.Equal(user, a.UserId));
        Assert.All(alerts, a => Assert.Equal(6.00m, a.BudgetUsd));
        Assert.All(alerts, a => Assert.Equal(AppFixture.CurrentMonth, a.Month));
        Assert.Equal(5.00m, alerts[0].SpentUsd);   // the first multiple of $0.25 at or above $4.80
        Assert.Equal(6.00m, alerts[1].SpentUsd);
    }

    [Fact]
    public async Task One_bad_event_rejects_the_whole_batch_naming_its_index()
    {
        var user = AppFixture.NewUser("batch");
        var response = await app.PostBatchAsync(new
        {
            events = new object[]
            {
                new { userId = user, model = "gpt-4o", inputTokens = 1, outputTokens = 1 },
                new { userId = "bad user", model = "gpt-4o", inputTokens = 1, outputTokens = 1 },
            },
        });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty("events[1].userId", out _));

        await app.PostUsageAsync(new { userId = user, model = "gpt-4o", inputTokens = 0, outputTokens = 1000 });
        var totals = await app.WaitForRequestsAsync(user, 1);
        Assert.Equal(1, totals["requests"]);
        Assert.Equal(10_000, totals["cost"]);
    }

    [Fact]
    public async Task A_batch_answers_with_every_event_id()
    {
        var user = AppFixture.NewUser("batchids");
        var response = await app.PostBatchAsync(new
        {
            events = new object[]
            {
                new { eventId = "given-1", userId = user, model = "gpt-4o", inputTokens = 1, outputTokens = 1 },
                new { userId = user, model = "gpt-4o", inputTokens = 1, outputTokens = 1 },
            },
        });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(2, body.GetProperty("accepted").GetInt32());
        var ids = body.GetProperty("eventIds").EnumerateArray().Select(e => e.GetString()).ToArray();
        Assert.Equal("given-1", ids[0]);
        Assert.False(string.IsNullOrEmpty(ids[1]));
        await app.WaitForRequestsAsync(user, 2);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-key")]
    public async Task Ingestion_without_the_ingest_key_is_401(string? key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/llm-usage")
        {
            Content = JsonContent.Create(new { userId = "u", model = "gpt-4o", inputTokens = 1, outputTokens = 1 }),
        };
        if (key is not null)
        {
            request.Headers.Add("X-Api-Key", key);
        }

        var response = await app.Api.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task The_admin_key_does_not_open_ingestion()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/llm-usage")
        {
            Content = JsonContent.Create(new { userId = "u", model = "gpt-4o", inputTokens = 1, outputTokens = 1 }),
        };
        request.Headers.Add("X-Api-Key", app.AdminApiKey);
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.Api.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task Validation_errors_name_each_field()
    {
        var response = await app.PostUsageAsync(new { userId = "has space", model = "gpt-4o", inputTokens = -1, outputTokens = 1, cachedInputTokens = 0 });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("userId", out _));
        Assert.True(errors.TryGetProperty("inputTokens", out _));
    }
}

[Collection(AppCollection.Name)]
public sealed class CostPipelineOnOneRedisTests(AppFixture app) : CostPipelineTests(app);

[Collection(ShardedCollection.Name)]
public sealed class CostPipelineOnRedisClusterTests(ShardedAppFixture app) : CostPipelineTests(app);
