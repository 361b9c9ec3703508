using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;

namespace LlmCostTracker.LoadBench;

/// <summary>The fault drill: steady load of single events and batches while the broker, Redis and one worker replica
/// are stopped and started in turn, <see cref="BenchOptions.DrillRounds"/> rounds; then it waits for the totals and
/// compares what was counted with what the API acknowledged, to the micro-dollar. A client here behaves as a good
/// one should: a 503 must carry Retry-After, and the same events are posted again after it until accepted.</summary>
public sealed class FaultDrill(DistributedApplication app, Uri endpoint, string ingestKey, string adminKey, BenchOptions options)
{
    /// <summary>Every event: gpt-4o, 1,000 input and 500 output tokens = 2,500 + 5,000 micro-USD.</summary>
    public const long EventMicros = 7_500;

    private readonly string _run = Guid.NewGuid().ToString("N")[..6];
    private long _sent, _acknowledged, _refused, _refusedWithoutRetryAfter, _acceptedAfterRefusal, _unaccepted;

    public sealed record Result(
        int Rounds, long Sent, long Acknowledged, long Refused, long RefusedWithoutRetryAfter, long AcceptedAfterRefusal, long Unaccepted,
        long CountedRequests, long CountedMicros, TimeSpan Elapsed, IReadOnlyList<string> Faults, IReadOnlyList<TimeSpan> WorkerStops)
    {
        public long ExpectedMicros => Acknowledged * EventMicros;
    }

    public async Task<Result> RunAsync()
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = endpoint, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Add("X-Api-Key", ingestKey);
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        var load = Task.WhenAll(
            Enumerable.Range(0, options.DrillClients).Select(c => SingleEventsAsync(http, c, stop.Token))
                .Append(BatchesAsync(http, stop.Token)));

        var faults = new List<string>();
        var workerStops = new List<TimeSpan>();
        var workers = await ReplicasAsync("workerservice");
        for (var round = 1; round <= options.DrillRounds; round++)
        {
            foreach (var (label, resource) in new[] { ("broker", "rabbitmq"), ("redis", "redis"), ("worker replica", workers[round % workers.Count]) })
            {
                await Task.Delay(options.DrillSteady);
                var down = Stopwatch.StartNew();
                await CommandAsync(resource, KnownResourceCommands.StopCommand);
                await Task.Delay(options.DrillDown);
                await CommandAsync(resource, KnownResourceCommands.StartCommand);
                await WaitHealthyAsync(resource);
                var back = Stopwatch.StartNew();
                faults.Add($"round {round}: {label} down and back in {down.Elapsed.TotalSeconds:N1} s");
                Console.WriteLine(faults[^1]);
                if (resource == "rabbitmq")
                {
                    // Issue #29: a worker replica stopped while its endpoints may still be reconnecting.
                    var replica = workers[(round + 1) % workers.Count];
                    var landed = back.Elapsed;
                    var stopping = Stopwatch.StartNew();
                    await CommandAsync(replica, KnownResourceCommands.StopCommand);
                    workerStops.Add(stopping.Elapsed);
                    await CommandAsync(replica, KnownResourceCommands.StartCommand);
                    await WaitHealthyAsync(replica);
                    faults.Add($"round {round}: a worker replica stopped {landed.TotalSeconds:N1} s after the broker's return, in {workerStops[^1].TotalSeconds:N1} s");
                    Console.WriteLine(faults[^1]);
                }
            }
        }

        await Task.Delay(options.DrillSteady);
        await stop.CancelAsync();
        await load;
        var (requests, micros) = await WaitForTotalsAsync();
        return new Result(options.DrillRounds, _sent, _acknowledged, _refused, _refusedWithoutRetryAfter, _acceptedAfterRefusal, _unaccepted,
            requests, micros, clock.Elapsed, faults, workerStops);
    }

    private object Event() => new
    {
        eventId = $"{_run}-{Guid.NewGuid():N}",
        userId = $"drill-{_run}-{Random.Shared.Next(500)}",
        model = "gpt-4o",
        inputTokens = 1_000,
        outputTokens = 500,
    };

    private async Task SingleEventsAsync(HttpClient http, int client, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            await PostUntilAcceptedAsync(http, "api/v1/llm-usage", Event(), 1);
            await Task.Delay(options.DrillClientPause, CancellationToken.None);
        }
    }

    private async Task BatchesAsync(HttpClient http, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var events = Enumerable.Range(0, options.DrillBatchSize).Select(_ => Event()).ToArray();
            await PostUntilAcceptedAsync(http, "api/v1/llm-usage/batch", new { events }, events.Length);
            await Task.Delay(options.DrillBatchPause, CancellationToken.None);
        }
    }

    /// <summary>Posts until a 202 (the same body: the event ids make a repeat safe), waiting what Retry-After says
    /// after a 503. A transport failure (the API was not reached) is retried the same way. An event still refused
    /// after the drill's patience counts as unaccepted.</summary>
    private async Task PostUntilAcceptedAsync(HttpClient http, string path, object body, int events)
    {
        Interlocked.Add(ref _sent, events);
        var refusedOnce = false;
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromMinutes(5))
        {
            TimeSpan wait;
            try
            {
                using var response = await http.PostAsJsonAsync(path, body);
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    Interlocked.Add(ref _acknowledged, events);
                    if (refusedOnce)
                    {
                        Interlocked.Add(ref _acceptedAfterRefusal, events);
                    }

                    return;
                }

                if (response.StatusCode != HttpStatusCode.ServiceUnavailable)
                {
                    throw new InvalidOperationException($"{path} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                }

                refusedOnce = true;
                Interlocked.Increment(ref _refused);
                if (response.Headers.RetryAfter?.Delta is { } delta)
                {
                    wait = delta;
                }
                else
                {
                    Interlocked.Increment(ref _refusedWithoutRetryAfter);
                    wait = TimeSpan.FromSeconds(1);
                }
            }
            catch (HttpRequestException)
            {
                wait = TimeSpan.FromSeconds(1);
            }

            await Task.Delay(wait);
        }

        Interlocked.Add(ref _unaccepted, events);
    }

    private async Task CommandAsync(string resource, string command)
    {
        var result = await app.ResourceCommands.ExecuteCommandAsync(resource, command);
        if (!result.Success)
        {
            throw new InvalidOperationException($"{command} {resource}: {result.Message}");
        }
    }

    private async Task WaitHealthyAsync(string resource)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await foreach (var e in app.ResourceNotifications.WatchAsync(timeout.Token))
        {
            if ((e.ResourceId == resource || e.Resource.Name == resource) && e.Snapshot.State?.Text == "Running"
                && e.Snapshot.HealthStatus == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy)
            {
                return;
            }
        }
    }

    private async Task<IReadOnlyList<string>> ReplicasAsync(string name)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var ids = new SortedSet<string>(StringComparer.Ordinal);
        await foreach (var e in app.ResourceNotifications.WatchAsync(timeout.Token))
        {
            if (e.Resource.Name == name && e.ResourceId != name)
            {
                ids.Add(e.ResourceId);
            }

            if (ids.Count >= options.DrillWorkers)
            {
                return [.. ids];
            }
        }

        throw new TimeoutException($"{options.DrillWorkers} replicas of {name}");
    }

    /// <summary>The month's totals once they stop moving at the acknowledged count (or pass it: a double count).</summary>
    private async Task<(long Requests, long Micros)> WaitForTotalsAsync()
    {
        using var http = new HttpClient { BaseAddress = endpoint };
        http.DefaultRequestHeaders.Add("X-Admin-Key", adminKey);
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var totals = (await http.GetFromJsonAsync<JsonElement>("api/v1/admin/llm-costs?top=1")).GetProperty("totals");
            var requests = totals.GetProperty("requests").GetInt64();
            var micros = (long)(totals.GetProperty("costUsd").GetDecimal() * 1_000_000m);
            if (requests >= _acknowledged || deadline.Elapsed > TimeSpan.FromMinutes(5))
            {
                // A little longer: anything still arriving would be a double count.
                await Task.Delay(TimeSpan.FromSeconds(5));
                totals = (await http.GetFromJsonAsync<JsonElement>("api/v1/admin/llm-costs?top=1")).GetProperty("totals");
                return (totals.GetProperty("requests").GetInt64(), (long)(totals.GetProperty("costUsd").GetDecimal() * 1_000_000m));
            }

            await Task.Delay(200);
        }
    }
}
