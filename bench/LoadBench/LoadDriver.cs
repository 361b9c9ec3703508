using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace LlmCostTracker.LoadBench;

public sealed record Latency(double P50, double P95, double P99, int Count)
{
    public static Latency Of(IEnumerable<double> milliseconds)
    {
        var sorted = milliseconds.Order().ToArray();
        double At(double q) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))];
        return new Latency(At(0.50), At(0.95), At(0.99), sorted.Length);
    }

    public override string ToString() => $"p50 {P50:N2} ms, p95 {P95:N2} ms, p99 {P99:N2} ms ({Count:N0} requests)";
}

/// <summary>A hold phase: <see cref="HeldAfterUsd"/> is what the top users still hold once every event is counted
/// (0: every hold settled).</summary>
public sealed record HoldsResult(long Granted, long Refused, long Settled, TimeSpan Elapsed, Latency Latency, double MaxMilliseconds, decimal HeldAfterUsd)
{
    public double HoldsPerSecond => (Granted + Refused) / Elapsed.TotalSeconds;
}

public sealed record PhaseResult(long Unique, long Duplicates, TimeSpan Elapsed, Latency Latency)
{
    public double EventsPerSecond => Unique / Elapsed.TotalSeconds;
}

/// <summary>Drives the API like many clients would: varied users and models, some duplicate posts, then waits
/// for the admin totals to match exactly what was accepted.</summary>
public sealed partial class LoadDriver
{
    [System.Text.RegularExpressions.GeneratedRegex("\"holdId\":\"([^\"]+)\"")]
    private static partial System.Text.RegularExpressions.Regex HoldIdPattern();

    private static readonly string[] Models =
        ["gpt-4o", "gpt-4o-mini-2024-07-18", "openai/gpt-4o", "claude-3-haiku-20240307", "claude-3-5-sonnet", "gpt-3.5-turbo", "gpt-4-turbo", "my-finetune-v1"];

    // Absent, not null: an untagged event is the bytes it was before tags existed.
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };
    private readonly HttpClient _http;
    private readonly RawHttpClient _raw;
    private readonly string _adminKey;
    private readonly BenchOptions _options;
    private readonly string _run = Guid.NewGuid().ToString("N")[..6];
    private long _expectedRequests;
    private long _nextUser;

    public LoadDriver(Uri endpoint, string ingestKey, string adminKey, BenchOptions options)
    {
        _options = options;
        _adminKey = adminKey;
        // HttpClient only reads the admin report; every post goes through the raw client.
        _http = new HttpClient { BaseAddress = endpoint, Timeout = TimeSpan.FromSeconds(60) };
        _raw = new RawHttpClient(endpoint, ingestKey);
    }

    public long TotalSent { get; private set; }

    private static readonly string[] Environments = ["prod", "staging", "dev"];

    /// <summary>With <see cref="BenchOptions.Tags"/>, three tags as an organisation's would be: each user in one team
    /// (of <see cref="BenchOptions.TagTeams"/>) and one environment (of 3), calling any feature (of
    /// <see cref="BenchOptions.TagFeatures"/>).</summary>
    private object NewEvent(Random random, string? eventId = null)
    {
        var user = random.Next(_options.Users);
        return new
        {
            eventId = eventId ?? $"{_run}-{Guid.NewGuid():N}",
            userId = $"bench-{_run}-u{user}",
            model = Models[random.Next(Models.Length)],
            inputTokens = random.Next(50, 4_000),
            cachedInputTokens = random.Next(0, 50),
            outputTokens = random.Next(10, 1_500),
            tags = _options.Tags
                ? new Dictionary<string, string>
                {
                    ["team"] = $"team-{user % _options.TagTeams}",
                    ["feature"] = $"feature-{random.Next(_options.TagFeatures)}",
                    ["environment"] = Environments[user % Environments.Length],
                }
                : null,
        };
    }

    /// <summary>A scaled-down pass through every phase, so that the measured phases run on code the JIT has
    /// already tiered up (tier-0, instrumented, then optimised code with dynamic PGO): the figures are steady
    /// state, not start-up.</summary>
    public async Task WarmUpAsync()
    {
        await SingleEventsAsync(_options.WarmUpEvents);
        await BatchesAsync(_options.WarmUpBatchEvents);
        await PacedSingleEventsAsync(_options.PacedRate);
    }

    public Task<PhaseResult> SingleEventsAsync() => SingleEventsAsync(_options.SingleEvents);

    public Task<PhaseResult> ColdSingleEventsAsync() => SingleEventsAsync(_options.ColdEvents);

    public Task<PhaseResult> BatchesAsync() => BatchesAsync(_options.BatchEvents);

    public Task<PhaseResult> PacedSingleEventsAsync() => PacedSingleEventsAsync(_options.PacedRate * _options.PacedSeconds);

    private Task<PhaseResult> SingleEventsAsync(int events) =>
        ClientsAsync(events, seed: 0, random => Json(NewEvent(random)), body => PostUntilAcceptedAsync("api/v1/llm-usage", body));

    private Task<PhaseResult> BatchesAsync(int events) =>
        BatchClientsAsync(events / _options.BatchSize, _options.BatchSize, seed: 1000,
            random => Json(new { events = Enumerable.Range(0, _options.BatchSize).Select(_ => NewEvent(random)).ToArray() }),
            body => PostUntilAcceptedAsync("api/v1/llm-usage/batch", body));

    /// <summary><see cref="BenchOptions.Concurrency"/> clients, each sending one request after another (one event
    /// each); after one request in 50 a client sends the previous one again (a retry of what succeeded), which must
    /// count once.</summary>
    private async Task<PhaseResult> ClientsAsync(int events, int seed, Func<Random, byte[]> next, Func<byte[], Task<double>> send)
    {
        var latencies = new ConcurrentBag<double[]>();
        long unique = 0, duplicates = 0;
        var perClient = events / _options.Concurrency;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, _options.Concurrency).Select(async client =>
        {
            var random = new Random(seed + client);
            var mine = new List<double>(perClient + perClient / 10);
            byte[]? previous = null;
            for (var i = 0; i < perClient; i++)
            {
                var body = next(random);
                mine.Add(await send(body));
                Interlocked.Increment(ref unique);
                if (previous is not null && random.Next(50) == 0)
                {
                    mine.Add(await send(previous));
                    Interlocked.Increment(ref duplicates);
                }

                previous = body;
            }

            latencies.Add([.. mine]);
        }));
        _expectedRequests += unique;
        await WaitForTotalsAsync();
        clock.Stop();
        TotalSent += unique + duplicates;
        return new PhaseResult(unique, duplicates, clock.Elapsed, Latency.Of(latencies.SelectMany(l => l)));
    }

    /// <summary><see cref="BenchOptions.BatchConcurrency"/> clients sending <paramref name="requests"/> requests of
    /// <paramref name="perRequest"/> events each between them.</summary>
    private async Task<PhaseResult> BatchClientsAsync(int requests, int perRequest, int seed, Func<Random, byte[]> next, Func<byte[], Task<double>> send)
    {
        var taken = -1;
        var latencies = new ConcurrentBag<double>();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, _options.BatchConcurrency).Select(async client =>
        {
            var random = new Random(seed + client);
            while (Interlocked.Increment(ref taken) < requests)
            {
                latencies.Add(await send(next(random)));
            }
        }));
        var unique = (long)requests * perRequest;
        _expectedRequests += unique;
        await WaitForTotalsAsync();
        clock.Stop();
        TotalSent += unique;
        return new PhaseResult(unique, 0, clock.Elapsed, Latency.Of(latencies));
    }

    private static byte[] Json(object body) => JsonSerializer.SerializeToUtf8Bytes(body, JsonOptions);

    /// <summary>Open loop: requests start on schedule whether or not earlier ones have answered.</summary>
    private async Task<PhaseResult> PacedSingleEventsAsync(int total)
    {
        var latencies = new double[total];
        // Drawn in order before the loop (Random is not thread-safe): the same events on every run.
        var random = new Random(7);
        var events = Enumerable.Range(0, total).Select(_ => NewEvent(random)).ToArray();
        var sending = await OpenLoopAsync(total, _options.PacedRate,
            async index => latencies[index] = await PostUntilAcceptedAsync("api/v1/llm-usage", events[index]));
        _expectedRequests += total;
        await WaitForTotalsAsync();
        TotalSent += total;
        return new PhaseResult(total, 0, sending, Latency.Of(latencies));
    }

    /// <summary>Open loop at <see cref="BenchOptions.HoldRate"/> budget holds a second for
    /// <see cref="BenchOptions.PacedSeconds"/>: each granted hold is followed, as a caller would, by its call's usage
    /// event carrying the holdId (so the worker settles holds while new ones are asked for). A tenth of the users
    /// have an enforced budget small enough to be refused after a few holds; the rest an enforced one that fits.
    /// Then waits for the totals and checks that nothing stays held.</summary>
    public async Task<HoldsResult> PacedHoldsAsync()
    {
        var users = Enumerable.Range(0, _options.Users).Select(i => $"bench-{_run}-hold{i}").ToArray();
        for (var i = 0; i < users.Length; i++)
        {
            await SetBudgetAsync(users[i], i % 10 == 0 ? 0.02m : 1_000m);
        }

        // The hold path's own warm-up (the general one posts events only): as long as the phase, not measured. The
        // first tens of seconds of holds after a start are slower (the JIT's tiers, the API's first heap sizing).
        await HoldPhaseAsync(users, _options.PacedSeconds, "warm");
        return await HoldPhaseAsync(users, _options.PacedSeconds, "run");
    }

    private async Task<HoldsResult> HoldPhaseAsync(string[] users, int seconds, string label)
    {
        var total = _options.HoldRate * seconds;
        var latencies = new double[total];
        long granted = 0, refused = 0, settled = 0;
        // Drawn in order before the loop (Random is not thread-safe): the same requests on every run.
        var random = new Random(11);
        var requests = Enumerable.Range(0, total).Select(_ => (User: users[random.Next(users.Length)], Input: random.Next(50, 4_000), MaxOutput: random.Next(100, 2_000))).ToArray();
        var sending = await OpenLoopAsync(total, _options.HoldRate, async index =>
        {
            var (user, input, maxOutput) = requests[index];
            var hold = JsonSerializer.SerializeToUtf8Bytes(new { userId = user, model = "gpt-4o", inputTokens = input, maxOutputTokens = maxOutput }, JsonOptions);
            var started = Stopwatch.GetTimestamp();
            var (status, body) = await _raw.PostAsync("api/v1/budget-holds", hold);
            latencies[index] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (status == (int)HttpStatusCode.PaymentRequired)
            {
                Interlocked.Increment(ref refused);
                return;
            }

            if (status != (int)HttpStatusCode.Created)
            {
                throw new InvalidOperationException($"A hold answered {status}: {body}");
            }

            Interlocked.Increment(ref granted);
            if (index % 100 >= _options.HoldSettlePercent)
            {
                return;
            }

            Interlocked.Increment(ref settled);
            // The raw client hands back the body as sent (chunked framing included): the id is read by pattern.
            var holdId = HoldIdPattern().Match(body).Groups[1].Value;
            await PostUntilAcceptedAsync("api/v1/llm-usage", new
            {
                eventId = $"{_run}-{label}-{Guid.NewGuid():N}", userId = user, model = "gpt-4o", inputTokens = input, outputTokens = maxOutput / 2, holdId,
            });
        });

        _expectedRequests += settled;
        TotalSent += settled;
        await WaitForTotalsAsync();
        var held = (await ReportAsync()).GetProperty("users").EnumerateArray().Sum(u => u.GetProperty("heldUsd").GetDecimal());
        return new HoldsResult(granted, refused, settled, sending, Latency.Of(latencies), latencies.Max(), held);
    }

    /// <summary>The floor under a hold's latency on this box: the same request at the same rate, with a token count
    /// the API refuses (400), so it does everything a hold does (connection, key, JSON, validation, an answer)
    /// except the price and the Redis round trip.</summary>
    public async Task<(Latency Latency, double MaxMilliseconds)> PacedRefusedHoldsAsync()
    {
        // Warmed as the holds are, not measured (the refusal's own code path).
        await RefusedHoldPhaseAsync(_options.PacedSeconds);
        return await RefusedHoldPhaseAsync(_options.PacedSeconds);
    }

    private async Task<(Latency Latency, double MaxMilliseconds)> RefusedHoldPhaseAsync(int seconds)
    {
        var total = _options.HoldRate * seconds;
        var latencies = new double[total];
        var refused = JsonSerializer.SerializeToUtf8Bytes(new { userId = $"bench-{_run}-floor", model = "gpt-4o", inputTokens = -1, maxOutputTokens = 100 }, JsonOptions);
        await OpenLoopAsync(total, _options.HoldRate, async index =>
        {
            var started = Stopwatch.GetTimestamp();
            var (status, body) = await _raw.PostAsync("api/v1/budget-holds", refused);
            latencies[index] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (status != (int)HttpStatusCode.BadRequest)
            {
                throw new InvalidOperationException($"A refused hold answered {status}: {body}");
            }
        });
        return (Latency.Of(latencies), latencies.Max());
    }

    /// <summary>Starts <paramref name="total"/> requests at <paramref name="rate"/> a second on schedule, whatever
    /// the answers (an open loop: a slow answer does not slow the next send), and waits for them all; returns how
    /// long that took.</summary>
    private static async Task<TimeSpan> OpenLoopAsync(int total, int rate, Func<int, Task> send)
    {
        var inFlight = new List<Task>(total);
        var clock = Stopwatch.StartNew();
        var sent = 0;
        while (sent < total)
        {
            var due = Math.Min(total, (int)(clock.Elapsed.TotalSeconds * rate));
            for (; sent < due; sent++)
            {
                var index = sent;
                inFlight.Add(Task.Run(() => send(index)));
            }

            await Task.Delay(1);
        }

        await Task.WhenAll(inFlight);
        return clock.Elapsed;
    }

    private async Task SetBudgetAsync(string user, decimal usd)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, $"api/v1/admin/budgets/{user}")
        {
            Content = JsonContent.Create(new { monthlyBudgetUsd = usd, enforce = true }),
        };
        request.Headers.Add("X-Admin-Key", _adminKey);
        using var response = await _http.SendAsync(request);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>Brings the month to <paramref name="users"/> users, then times the report (top=100).</summary>
    public async Task<Latency> ReportLatencyAsync(int users)
    {
        var current = (await ReportAsync()).GetProperty("totals").GetProperty("userCount").GetInt64();
        var missing = users - current;
        var random = new Random(users);
        for (long added = 0; added < missing; added += _options.BatchSize)
        {
            var count = (int)Math.Min(_options.BatchSize, missing - added);
            var events = Enumerable.Range(0, count).Select(_ => new
            {
                eventId = $"{_run}-{Guid.NewGuid():N}",
                userId = $"bench-{_run}-pop{Interlocked.Increment(ref _nextUser)}",
                model = Models[random.Next(Models.Length)],
                inputTokens = random.Next(50, 4_000),
                outputTokens = random.Next(10, 1_500),
            }).ToArray();
            await PostUntilAcceptedAsync("api/v1/llm-usage/batch", new { events });
            _expectedRequests += count;
            TotalSent += count;
        }

        await WaitForTotalsAsync();
        var timings = new double[_options.ReportRequests];
        for (var i = 0; i < timings.Length; i++)
        {
            var clock = Stopwatch.StartNew();
            var report = await ReportAsync();
            timings[i] = clock.Elapsed.TotalMilliseconds;
            if (report.GetProperty("users").GetArrayLength() != 100)
            {
                throw new InvalidOperationException("The report did not list 100 users.");
            }
        }

        return Latency.Of(timings);
    }

    private Task<double> PostUntilAcceptedAsync(string path, object body) =>
        // Serialised before the clock starts: the generator's own JSON work is not the API's latency.
        PostUntilAcceptedAsync(path, Json(body));

    private async Task<double> PostUntilAcceptedAsync(string path, byte[] bytes)
    {
        var clock = Stopwatch.StartNew();
        for (var attempt = 0; ; attempt++)
        {
            var (status, answer) = await _raw.PostAsync(path, bytes);
            if (status == (int)HttpStatusCode.Accepted)
            {
                return clock.Elapsed.TotalMilliseconds;
            }

            if (status != (int)HttpStatusCode.ServiceUnavailable || attempt > 20)
            {
                throw new InvalidOperationException($"{path} answered {status}: {answer}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>The month's top user, as the admin report lists it.</summary>
    public async Task<string> TopUserAsync() => (await ReportAsync()).GetProperty("users")[0].GetProperty("userId").GetString()!;

    private async Task<JsonElement> ReportAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/v1/admin/llm-costs?top=100");
        request.Headers.Add("X-Admin-Key", _adminKey);
        using var response = await _http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>Waits until the month's request total is exactly what was accepted; more would be a double count.</summary>
    private async Task WaitForTotalsAsync()
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var requests = (await ReportAsync()).GetProperty("totals").GetProperty("requests").GetInt64();
            if (requests == _expectedRequests)
            {
                return;
            }

            if (requests > _expectedRequests)
            {
                throw new InvalidOperationException($"Totals show {requests:N0} requests, more than the {_expectedRequests:N0} sent: a double count.");
            }

            if (deadline.Elapsed > TimeSpan.FromMinutes(10))
            {
                throw new TimeoutException($"Totals stuck at {requests:N0} of {_expectedRequests:N0}.");
            }

            await Task.Delay(50);
        }
    }
}
