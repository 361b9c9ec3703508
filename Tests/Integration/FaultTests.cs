using System.Diagnostics;
using System.Net;
using LlmCostTracker.Contracts;
using LlmCostTracker.CostTracking;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LlmCostTracker.Tests.Integration;

/// <summary>Faults injected by stopping and starting resources through the AppHost. Every test ends with exact
/// totals: nothing acknowledged is lost, nothing is counted twice.</summary>
[Collection(FaultCollection.Name)]
public sealed class FaultTests(FaultAppFixture app)
{
    private static object Event(string user) => FaultScenarios.Event(user);

    private Task PostAcceptedAsync(string user, int count) => FaultScenarios.PostAcceptedAsync(app, user, count);

    private Task AssertExactTotalsAsync(string user, int events) => FaultScenarios.AssertExactTotalsAsync(app, user, events);

    [Fact]
    public async Task Broker_down_answers_503_in_bound_buffers_tracked_usage_and_loses_nothing_acknowledged()
    {
        var user = AppFixture.NewUser("brokerdown");
        await PostAcceptedAsync(user, 10);

        var builder = Host.CreateApplicationBuilder();
        builder.Configuration["CostTracking:Endpoint"] = app.App.GetEndpoint("apiservice", "http").ToString();
        builder.Configuration["CostTracking:ApiKey"] = app.IngestApiKey;
        builder.AddLlmCostTracking();
        using var trackerHost = builder.Build();
        await trackerHost.StartAsync();
        var tracker = trackerHost.Services.GetRequiredService<UsageTracker>();

        await app.StopResourceAsync("rabbitmq");
        var refused = new List<object>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var usage = Event(user);
                var clock = Stopwatch.StartNew();
                var response = await app.PostUsageAsync(usage);
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"503 took {clock.Elapsed}");
                Assert.Equal(TimeSpan.FromSeconds(5), response.Headers.RetryAfter?.Delta);
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                refused.Add(usage);
            }

            // The in-process tracker keeps what it cannot send.
            for (var i = 0; i < 20; i++)
            {
                Assert.True(tracker.Track(new TrackedUsage(user, "gpt-4o", 100, 100)));
            }

            // Reports need only Redis: still served.
            var report = await app.Api.SendAsync(app.Admin(HttpMethod.Get, $"/api/v1/admin/llm-costs/{user}"));
            Assert.NotEqual(HttpStatusCode.InternalServerError, report.StatusCode);
        }
        finally
        {
            await app.StartResourceAsync("rabbitmq");
        }

        // A client retries what was refused, with the same event ids, until the broker confirms.
        foreach (var usage in refused)
        {
            await Eventually.ReturnsAsync(
                async () => (await app.PostUsageAsync(usage)).StatusCode,
                status => status == HttpStatusCode.Accepted, because: "the broker to be back");
        }

        await trackerHost.StopAsync();
        await AssertExactTotalsAsync(user, 10 + 3 + 20);
    }

    [Fact]
    public async Task Redis_down_still_accepts_retries_and_counts_everything_once_when_back()
    {
        var user = AppFixture.NewUser("redisdown");
        await PostAcceptedAsync(user, 10);
        await AssertExactTotalsAsync(user, 10);

        await app.StopResourceAsync("redis");
        try
        {
            // Accepting an event needs only the broker.
            await PostAcceptedAsync(user, 20);
        }
        finally
        {
            await app.StartResourceAsync("redis");
        }

        // Totals written before the stop survived it (append-only file); the 20 were retried, not lost or doubled.
        await AssertExactTotalsAsync(user, 30);
    }

    /// <summary>Longer than the services' Redis timeout (StackExchange.Redis's default, 5 s), so their calls time
    /// out during it.</summary>
    private static readonly TimeSpan RedisStall = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_Redis_stall_past_the_client_timeout_leaves_every_service_running_and_counts_everything_once()
    {
        var user = AppFixture.NewUser("redisstall");
        await PostAcceptedAsync(user, 10);
        await AssertExactTotalsAsync(user, 10);
        // An unknown model's count, written by the worker apart from the ledger (every second) and most likely
        // still waiting when the pause begins right after this event is counted.
        var unknown = AppFixture.NewUser("redisstall-unknown");
        using (var posted = await app.PostUsageAsync(new { userId = unknown, model = $"no-such-model-{Guid.NewGuid():N}", inputTokens = 100, outputTokens = 100 }))
        {
            Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        }

        await app.WaitForRequestsAsync(unknown, 1);

        // Commands of every client wait while Redis is paused, then run: the worker's timed-out writes are applied
        // late and retried as well, and must count once.
        var options = StackExchange.Redis.ConfigurationOptions.Parse((await app.App.GetConnectionStringAsync("redis"))!);
        options.AllowAdmin = true;
        options.AsyncTimeout = options.SyncTimeout = (int)(RedisStall * 3).TotalMilliseconds;
        using (var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(options))
        {
            var server = admin.GetServer(admin.GetEndPoints().Single());
            Assert.Equal("OK", (await server.ExecuteAsync("CLIENT", "PAUSE", (long)RedisStall.TotalMilliseconds, "ALL")).ToString());
            // Accepting an event needs only the broker.
            await PostAcceptedAsync(user, 20);
            // Answered once the pause is over.
            await admin.GetDatabase().PingAsync();
        }

        await AssertExactTotalsAsync(user, 30);
        using var budget = await app.Api.SendAsync(app.Admin(HttpMethod.Get, $"/api/v1/admin/budgets/{user}"));
        Assert.Equal(HttpStatusCode.OK, budget.StatusCode);
        // No service exited (a Redis timeout let out of a background loop used to stop the host).
        Assert.Empty(app.ExitGuard.Exits);
    }

    [Fact]
    public async Task A_redelivered_message_counts_once()
    {
        var user = AppFixture.NewUser("redeliver");
        LlmUsage Usage(string id) => new()
        {
            EventId = id, UserId = user, Model = "gpt-4o", InputTokens = 100, CachedInputTokens = 0, OutputTokens = 100,
            OccurredAt = DateTimeOffset.UtcNow,
        };

        await using var bus = await TestBus.StartAsync(app.App);
        var a = Usage("evt-a");
        await bus.Publish(new LlmUsageRecorded { Events = [a] });
        await app.WaitForRequestsAsync(user, 1);

        // The same message again, as a redelivery after a failure past the increments would bring it...
        await bus.Publish(new LlmUsageRecorded { Events = [a] });
        // ...and inside messages with new events: applied atomically per user, so a double count would show.
        await bus.Publish(new LlmUsageRecorded { Events = [a, Usage("evt-b")] });
        await bus.Publish(new LlmUsageRecorded { Events = [a, Usage("evt-b"), Usage("evt-c")] });
        await AssertExactTotalsAsync(user, 3);
    }

    [Fact]
    public async Task Two_workers_count_exactly_and_alert_once_per_threshold()
    {
        var user = AppFixture.NewUser("replicas");
        await app.HealthyReplicasAsync("workerservice", FaultAppFixture.WorkerReplicas);
        await using var listener = await AlertListener.StartAsync(app.AlertSubscriber, user);
        var received = listener.Received;
        // 200 events of $0.05 ($10 in all) in batches of 10 and singles, all at once, against a $6 budget.
        var batches = Enumerable.Range(0, 10).Select(_ => app.PostBatchAsync(new
        {
            events = Enumerable.Range(0, 10).Select(_ => new { userId = user, model = "gpt-4o", inputTokens = 0, outputTokens = 5_000 }),
        }));
        var singles = Enumerable.Range(0, 100).Select(_ => app.PostUsageAsync(new { userId = user, model = "gpt-4o", inputTokens = 0, outputTokens = 5_000 }));
        Assert.All(await Task.WhenAll(batches.Concat(singles)), r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));

        var totals = await app.WaitForRequestsAsync(user, 200);
        Assert.Equal(200, totals["requests"]);
        Assert.Equal(10_000_000, totals["cost"]);
        await Eventually.ReturnsAsync(
            () => app.AlertStatesAsync(user),
            alerts => alerts.Length == 2 && alerts.All(a => a.Value.ToString().StartsWith("sent|", StringComparison.Ordinal)));
        await Eventually.ReturnsAsync(() => Task.FromResult(received.Count), count => count >= 2);
        Assert.Equal([80, 100], received.Select(a => a.ThresholdPercent).Order());
    }
}
