using System.Diagnostics;
using System.Net;

namespace LlmCostTracker.Tests.Integration;

/// <summary>Stopping services as an operator does (the dashboard's Stop button is this resource command) after
/// faults, in the main app (one worker replica).</summary>
[Collection(AppCollection.Name)]
public sealed class ShutdownTests(AppFixture app)
{
    /// <summary>Each service's own bound is 5 s (Shutdown:Timeout); this leaves room for the orchestrator.</summary>
    private static readonly TimeSpan StopBound = TimeSpan.FromSeconds(10);

    /// <summary>Stops the worker with the resource command (asserting its result) and asserts it took less than
    /// <see cref="StopBound"/>.</summary>
    private async Task StopTheWorkerPromptlyAsync()
    {
        var clock = Stopwatch.StartNew();
        await app.StopResourceAsync("workerservice");
        Assert.True(clock.Elapsed < StopBound, $"the stop took {clock.Elapsed}");
    }

    [Fact]
    public async Task The_worker_stops_on_command_after_a_broker_restart_and_loses_nothing()
    {
        var user = AppFixture.NewUser("restart-stop");
        await app.StopResourceAsync("rabbitmq");
        try
        {
            var refused = await app.PostUsageAsync(FaultScenarios.Event(user));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        }
        finally
        {
            await app.StartResourceAsync("rabbitmq");
        }

        await Eventually.ReturnsAsync(
            async () => (await app.PostUsageAsync(FaultScenarios.Event(user))).StatusCode,
            status => status == HttpStatusCode.Accepted, because: "the broker to be back");
        await FaultScenarios.PostAcceptedAsync(app, user, 4);

        try
        {
            await StopTheWorkerPromptlyAsync();
        }
        finally
        {
            await app.StartResourceAsync("workerservice");
        }

        await FaultScenarios.AssertExactTotalsAsync(app, user, 5);
    }

    [Fact]
    public async Task The_worker_stops_on_command_while_Redis_is_down_and_its_messages_are_retrying()
    {
        var user = AppFixture.NewUser("redis-stop");
        await app.StopResourceAsync("redis");
        try
        {
            // Accepted (the broker has them); the worker's consumers retry them against the missing Redis.
            await FaultScenarios.PostAcceptedAsync(app, user, 5);
            try
            {
                await StopTheWorkerPromptlyAsync();
            }
            finally
            {
                await app.StartResourceAsync("redis");
            }
        }
        finally
        {
            await app.StartResourceAsync("workerservice");
        }

        // What was unacknowledged at the stop was redelivered to the new worker: counted once.
        await FaultScenarios.AssertExactTotalsAsync(app, user, 5);
    }

    [Fact]
    public async Task The_worker_stops_on_command_mid_batch_under_load_and_counts_everything_once()
    {
        var user = AppFixture.NewUser("load-stop");
        // 40 batches of 250 events posted while the worker is told to stop: some are in its writes when it does.
        var posts = Enumerable.Range(0, 40).Select(_ => app.PostBatchAsync(new { events = Enumerable.Range(0, 250).Select(_ => FaultScenarios.Event(user)).ToArray() })).ToList();
        try
        {
            await StopTheWorkerPromptlyAsync();
        }
        finally
        {
            await app.StartResourceAsync("workerservice");
        }

        Assert.All(await Task.WhenAll(posts), r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        await FaultScenarios.AssertExactTotalsAsync(app, user, 40 * 250);
    }

    [Fact]
    public async Task The_API_stops_on_command_with_requests_waiting_for_a_broker_that_is_down()
    {
        var user = AppFixture.NewUser("api-stop");
        List<Task<HttpStatusCode?>> waiting;
        var events = Enumerable.Range(0, 20).Select(_ => FaultScenarios.Event(user)).ToArray();
        using var plain = new HttpClient { BaseAddress = app.App.GetEndpoint("apiservice", "http") };
        await app.StopResourceAsync("rabbitmq");
        try
        {
            // Requests waiting for the broker's confirm (up to Ingest:PublishTimeout) while the API is told to stop,
            // from a client without the tests' retry handler: a retry after the restart would find the broker back.
            waiting = [.. events.Select(body => Outcome(plain.SendAsync(app.Ingest("/api/v1/llm-usage", body))))];
            var clock = Stopwatch.StartNew();
            await app.StopResourceAsync("apiservice");
            Assert.True(clock.Elapsed < StopBound, $"the stop took {clock.Elapsed}");
        }
        finally
        {
            // The API waits for the broker to start: broker first.
            await app.StartResourceAsync("rabbitmq");
            await app.StartResourceAsync("apiservice");
        }

        // Those that reached the stopping API were refused (503) or cut off by the stop. One still on its way when
        // the API stopped may be answered by the restarted API, with the broker back: accepted (seen in a CI run:
        // 1 of 20).
        var outcomes = await Task.WhenAll(waiting);
        Assert.Contains(outcomes, outcome => outcome != HttpStatusCode.Accepted);
        await AssertCountedOnceAfterRetriesAsync(user, outcomes, events, "/api/v1/llm-usage", eventsPerRequest: 1);
    }

    /// <summary>Every service in the states the tests above do not cover (they cover the worker after a broker
    /// restart, with Redis down and mid-batch, and the API with requests waiting for a broker that is down).</summary>
    public static TheoryData<string, string> States => new()
    {
        { "workerservice", "idle" },
        { "workerservice", "broker down" },
        { "apiservice", "idle" },
        { "apiservice", "under load" },
        { "apiservice", "broker just restarted" },
        { "apiservice", "Redis down" },
        { "costdashboard", "idle" },
        { "costdashboard", "Redis down" },
    };

    [Theory]
    [MemberData(nameof(States))]
    public async Task Each_service_stops_on_command_in_each_state_and_loses_nothing_it_acknowledged(string service, string state)
    {
        var user = AppFixture.NewUser("stop-state");
        using var plain = new HttpClient { BaseAddress = app.App.GetEndpoint("apiservice", "http") };
        var infrastructure = state switch
        {
            "broker down" => "rabbitmq",
            "Redis down" => "redis",
            _ => null,
        };
        List<Task<HttpStatusCode?>> load = [];
        object[] batches = [];
        if (state == "broker just restarted")
        {
            await app.StopResourceAsync("rabbitmq");
            await app.StartResourceAsync("rabbitmq");
        }

        if (infrastructure is not null)
        {
            await app.StopResourceAsync(infrastructure);
        }

        try
        {
            if (state == "under load")
            {
                // Batches in flight (from a client without the tests' retry handler) while the API is told to stop.
                batches = [.. Enumerable.Range(0, 30).Select(_ => new { events = Enumerable.Range(0, 100).Select(_ => FaultScenarios.Event(user)).ToArray() })];
                load = [.. batches.Select(body => Outcome(plain.SendAsync(app.Ingest("/api/v1/llm-usage/batch", body))))];
            }

            var clock = Stopwatch.StartNew();
            await app.StopResourceAsync(service);
            Assert.True(clock.Elapsed < StopBound, $"stopping {service} ({state}) took {clock.Elapsed}");
        }
        finally
        {
            // What the service waits for first, then the service.
            if (infrastructure is not null)
            {
                await app.StartResourceAsync(infrastructure);
            }

            await app.StartResourceAsync(service);
        }

        // Every batch the API acknowledged before it stopped is counted, once; the others were refused or cut off,
        // and their retries count each event once.
        await AssertCountedOnceAfterRetriesAsync(user, await Task.WhenAll(load), batches, "/api/v1/llm-usage/batch", eventsPerRequest: 100);
    }

    /// <summary>Retries, as a client does, every request that was not accepted (same body, so the same event ids),
    /// asserts each retry is accepted, then asserts the user's month holds every event exactly once (none when no
    /// request was sent). A request refused or cut off at the stop may still have reached the broker (its confirm
    /// came after the stop limit, or the connection closed before the 202 was written; seen in a CI run: one batch
    /// of 30): only the retry with the same ids makes the total exact, and it must not count that one twice.</summary>
    private async Task AssertCountedOnceAfterRetriesAsync(string user, HttpStatusCode?[] outcomes, object[] bodies, string path, int eventsPerRequest)
    {
        Assert.Equal(bodies.Length, outcomes.Length);
        var retries = await Task.WhenAll(bodies.Where((_, i) => outcomes[i] != HttpStatusCode.Accepted)
            .Select(body => app.Api.SendAsync(app.Ingest(path, body))));
        Assert.All(retries, retry => Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode));
        if (bodies.Length > 0)
        {
            await FaultScenarios.AssertExactTotalsAsync(app, user, bodies.Length * eventsPerRequest);
        }
        else
        {
            Assert.Empty(await app.UserTotalsAsync(user));
        }
    }

    /// <summary>A request's status, or null when the connection was cut (the API stopping under it).</summary>
    private static async Task<HttpStatusCode?> Outcome(Task<HttpResponseMessage> request)
    {
        try
        {
            return (await request).StatusCode;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }
}
