using LlmCostTracker.Contracts;
using LlmCostTracker.Ledger;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace LlmCostTracker.Tests.Integration;

/// <summary>The whole app (Redis, RabbitMQ, API, worker) started once per test collection.</summary>
public class AppFixture : IAsyncLifetime
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    public DistributedApplication App { get; private set; } = null!;
    public HttpClient Api { get; private set; } = null!;
    public string IngestApiKey { get; private set; } = "";
    public string AdminApiKey { get; private set; } = "";
    public IConnectionMultiplexer Redis { get; private set; } = null!;

    /// <summary>A plain connection to one Redis node for the alert channels. Classic pub/sub is broadcast to every
    /// node of a cluster, so one node sees each alert once; a cluster-aware client's subscriptions were seen
    /// delivering an alert once a master in one CI run.</summary>
    public IConnectionMultiplexer AlertSubscriber { get; private set; } = null!;

    /// <summary>The ledger's key layout, with the bucket count the services stored in Redis.</summary>
    public LedgerKeys Keys { get; private set; } = null!;

    /// <summary>Where the services export their telemetry, in place of the Aspire dashboard (main app only; null
    /// elsewhere, where nothing is exported).</summary>
    public OtlpCollector? Telemetry { get; private set; }

    /// <summary>The last lines each resource printed, kept here because the orchestrator deletes an exited process's
    /// output.</summary>
    public ResourceLogTail LogTail { get; } = new(linesPerResource: 100);

    /// <summary>Fails the tests' requests at once after a service exited that no test stopped.</summary>
    public ServiceExitGuard ExitGuard { get; }

    public AppFixture() => ExitGuard = new ServiceExitGuard(LogTail);

    /// <summary>Whether this app's services export to <see cref="Telemetry"/>.</summary>
    protected virtual bool CollectsTelemetry => GetType() == typeof(AppFixture);

    /// <summary>Where the main app's worker delivers alert webhooks (<c>/json</c> signed with the generated
    /// <c>alert-webhook-secret</c>, <c>/slack</c>); null in the apps that do not <see cref="UsesWebhooks"/>.</summary>
    public WebhookReceiver? Webhooks { get; private set; }

    protected virtual bool UsesWebhooks => GetType() == typeof(AppFixture);

    /// <summary>Whether the worker's burn-rate forecast runs. Off except where it is tested: a user of another test
    /// whose spend spans a midnight would otherwise get a forecast alert beside the alerts that test counts.</summary>
    protected virtual bool ForecastEnabled => false;

    /// <summary>Arguments for the AppHost (configuration that decides which resources exist).</summary>
    // The tag tests wait for folds: a 1 s fold interval (the shipped 5 s only costs Redis less under load) keeps them short.
    // Webhook retries from 200 ms, at most 1 s apart: the retry tests wait for them. 40 attempts span about 38 s, past
    // the 30 s a receiver is down in AlertWebhookTests.
    protected virtual string[] AppHostArgs => Webhooks is { } receiver
        ?
        [
            "WorkerService:DeadLetterCountInterval=00:00:02", TestFoldInterval,
            $"Alerts:Webhooks:0:Url={receiver.Endpoint}json", $"Alerts:Webhooks:1:Url={receiver.Endpoint}slack", "Alerts:Webhooks:1:Format=slack",
            "Alerts:RetryMinDelay=00:00:00.200", "Alerts:RetryMaxDelay=00:00:01", "Alerts:DeliveryAttempts=40",
        ]
        : ["WorkerService:DeadLetterCountInterval=00:00:02", TestFoldInterval];

    protected const string TestFoldInterval = "Attribution:FoldInterval=00:00:01";

    /// <summary>Changes to the model before it is built, e.g. extra environment for a service.</summary>
    protected virtual void Configure(IDistributedApplicationTestingBuilder appHost)
    {
    }

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(StartTimeout);
        Webhooks = UsesWebhooks ? new WebhookReceiver() : null;
        var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(AppHostArgs, cts.Token);
        appHost.Services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(LogTail);
        appHost.Services.ConfigureHttpClientDefaults(http => http.AddHttpMessageHandler(ExitGuard.Handler).AddStandardResilienceHandler(options =>
        {
            // Tests assert on status codes: retry only transport failures, never a 4xx/5xx answer.
            options.Retry.ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is HttpRequestException);
            options.AttemptTimeout.Timeout = TimeSpan.FromSeconds(30);
            options.CircuitBreaker.SamplingDuration = TimeSpan.FromSeconds(60);
            // Never open: tests stop and start the API, and the stale pooled connections that fail (and are retried)
            // right after must not turn every later request of the suite away.
            options.CircuitBreaker.ShouldHandle = _ => ValueTask.FromResult(false);
            options.TotalRequestTimeout.Timeout = TimeSpan.FromSeconds(90);
        }));
        // No dashboard runs under the testing builder: the main app exports to a collector in this process (what
        // the dashboard would show, for the trace tests); the others export nothing (it would only retry against a
        // closed port).
        Telemetry = CollectsTelemetry ? new OtlpCollector() : null;
        appHost.CreateResourceBuilder<ProjectResource>("workerservice").WithEnvironment("Budgets__Forecast__Enabled", ForecastEnabled ? "true" : "false");
        foreach (var project in new[] { "apiservice", "workerservice", "costdashboard" })
        {
            var resource = appHost.CreateResourceBuilder<ProjectResource>(project)
                .WithEnvironment("OTEL_EXPORTER_OTLP_ENDPOINT", Telemetry?.Endpoint.ToString().TrimEnd('/') ?? "");
            if (Telemetry is not null)
            {
                resource.WithEnvironment("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
                    .WithEnvironment("OTEL_BSP_SCHEDULE_DELAY", "200")
                    .WithEnvironment("OTEL_BLRP_SCHEDULE_DELAY", "200");
            }
        }

        Configure(appHost);

        App = await appHost.BuildAsync(cts.Token);
        try
        {
            await App.StartAsync(cts.Token);
            ExitGuard.Start(App);
            await App.ResourceNotifications.WaitForResourceHealthyAsync("apiservice", cts.Token);
            await App.ResourceNotifications.WaitForResourceHealthyAsync("workerservice", cts.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or DistributedApplicationException or InvalidOperationException)
        {
            // A process that exited has its output deleted with it: what each resource showed is the only clue left.
            throw new InvalidOperationException($"The app did not start healthy within {StartTimeout}:\n{DescribeResources()}", ex);
        }

        IngestApiKey = await ParameterValueAsync("ingest-api-key", cts.Token);
        AdminApiKey = await ParameterValueAsync("admin-api-key", cts.Token);
        Api = App.CreateHttpClient("apiservice", "http");
        Redis = await ConnectionMultiplexer.ConnectAsync(
            (await App.GetConnectionStringAsync("redis", cts.Token))! + ",abortConnect=false");
        var single = ConfigurationOptions.Parse((await App.GetConnectionStringAsync("redis", cts.Token))!);
        while (single.EndPoints.Count > 1)
        {
            single.EndPoints.RemoveAt(single.EndPoints.Count - 1);
        }

        single.AbortOnConnectFail = false;
        single.CommandMap = CommandMap.Create(["CLUSTER"], available: false);
        AlertSubscriber = await ConnectionMultiplexer.ConnectAsync(single);
        var buckets = await Redis.GetDatabase().StringGetAsync(LedgerKeys.LayoutKey);
        Keys = new LedgerKeys((int)buckets);
    }

    /// <summary>The failures every instance of <paramref name="name"/> logged (each "fail:" or "crit:" line and the
    /// exception lines after it), for the message of an assertion on an answer that should not have been a 500: the
    /// API answers an unhandled exception with a bare ProblemDetails and logs what it was.</summary>
    public async Task<string> FailureLogsAsync(string name)
    {
        var report = new System.Text.StringBuilder();
        var (lines, complete) = await LogLinesAsync(name);
        var failing = 0;
        foreach (var line in lines)
        {
            failing = line.Contains("fail: ", StringComparison.Ordinal) || line.Contains("crit: ", StringComparison.Ordinal) ? 30 : failing - 1;
            if (failing > 0)
            {
                report.AppendLine(line);
            }
        }

        if (!complete)
        {
            report.AppendLine("(logs not read within 5 s)");
        }

        return report.Length == 0 ? $"{name} logged no failure." : report.ToString();
    }

    /// <summary>Every line every instance (replica) of <paramref name="name"/> logged so far, as the orchestrator keeps
    /// them; <c>Complete</c> is false when they were not all read within 5 s.</summary>
    public async Task<(List<string> Lines, bool Complete)> LogLinesAsync(string name)
    {
        var resource = App.Services.GetRequiredService<DistributedApplicationModel>().Resources.Single(r => r.Name == name);
        var logs = App.Services.GetRequiredService<ResourceLoggerService>();
        var lines = new List<string>();
        using var read = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await foreach (var batch in logs.GetAllAsync(resource).WithCancellation(read.Token))
            {
                lines.AddRange(batch.Select(line => line.Content));
            }

            return (lines, true);
        }
        catch (OperationCanceledException)
        {
            return (lines, false);
        }
    }

    /// <summary>Each resource's state, exit code, health and last log lines, for a start that failed.</summary>
    private string DescribeResources()
    {
        var report = new System.Text.StringBuilder();
        foreach (var resource in App.Services.GetRequiredService<DistributedApplicationModel>().Resources)
        {
            if (!App.ResourceNotifications.TryGetCurrentState(resource.Name, out var state))
            {
                report.AppendLine($"- {resource.Name}: no state");
                continue;
            }

            report.AppendLine($"- {resource.Name}: {state.Snapshot.State?.Text}, exit code {state.Snapshot.ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}, health {state.Snapshot.HealthStatus?.ToString() ?? "none"}");
            foreach (var line in LogTail.Summary(resource.Name))
            {
                report.AppendLine($"    {line}");
            }
        }

        return report.ToString();
    }

    public virtual async Task DisposeAsync()
    {
        await ExitGuard.DisposeAsync();
        Redis?.Dispose();
        AlertSubscriber?.Dispose();
        Api?.Dispose();
        if (App is not null)
        {
            await App.DisposeAsync();
        }

        if (Telemetry is not null)
        {
            await Telemetry.DisposeAsync();
        }

        if (Webhooks is not null)
        {
            await Webhooks.DisposeAsync();
        }
    }

    /// <summary>The history database's connection string: the database resource <c>history</c> with containers, the
    /// local server <c>postgres</c> (whose connection string names the database) without.</summary>
    public ValueTask<string?> HistoryConnectionStringAsync() =>
        App.GetConnectionStringAsync(App.Services.GetRequiredService<DistributedApplicationModel>().Resources.Any(r => r.Name == "history") ? "history" : "postgres");

    /// <summary>A resource state with the resource's process gone. A stopped project resource may show "Unknown" rather
    /// than "Finished" (seen with Aspire 13.6.5).</summary>
    public static bool HasStopped(string? state) => state is "Exited" or "Finished" or "Stopped" or "Unknown";

    /// <summary>Stops a resource through the AppHost (as the dashboard's Stop button does), asserts that the command
    /// succeeded, and waits until the resource has exited.</summary>
    public async Task StopResourceAsync(string name)
    {
        using var cts = new CancellationTokenSource(DefaultTimeout);
        ExitGuard.Stopping(name);
        var result = await App.ResourceCommands.ExecuteCommandAsync(name, KnownResourceCommands.StopCommand, cts.Token);
        Assert.True(result.Success, $"Stopping {name}: {result.Message}");
        await WaitForAsync(name, e => HasStopped(e.Snapshot.State?.Text), cts.Token);
    }

    /// <summary>Kills a resource's process (SIGKILL: no shutdown, nothing flushed), as a crash or the OOM killer
    /// would, and waits until the orchestrator has seen it exit. <see cref="StartResourceAsync"/> starts it again.</summary>
    public async Task KillResourceAsync(string name)
    {
        using var cts = new CancellationTokenSource(DefaultTimeout);
        ExitGuard.Stopping(name);
        // The watch starts with each resource's current state; the running one shows its process id.
        ResourceEvent? running = null;
        await WaitForAsync(name, e => (running = e).Snapshot.State?.Text == "Running", cts.Token);
        var pid = running!.Snapshot.Properties.FirstOrDefault(p => p.Name == "executable.pid")?.Value;
        Assert.True(pid is not null, $"{name} shows its process id; its properties: {string.Join(", ", running.Snapshot.Properties.Select(p => p.Name))}");
        string killed;
        using (var process = System.Diagnostics.Process.GetProcessById(Convert.ToInt32(pid, System.Globalization.CultureInfo.InvariantCulture)))
        {
            killed = $"{process.Id} {process.ProcessName}";
            // The tree: the orchestrator may start a project through a launcher whose child is the service.
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(cts.Token);
        }

        var seen = new List<string>();
        try
        {
            await WaitForAsync(name, e => { seen.Add($"{e.ResourceId}={e.Snapshot.State?.Text}"); return HasStopped(e.Snapshot.State?.Text); }, cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{name} (killed {killed}) did not show as exited; states seen: {string.Join(", ", seen)}");
        }
    }

    /// <summary>Waits for a resource, named by its name or (for a replica) its id, to satisfy a condition.
    /// (ResourceNotifications.WaitForResourceAsync matches names only.)</summary>
    public async Task WaitForAsync(string nameOrId, Func<ResourceEvent, bool> predicate, CancellationToken ct)
    {
        await foreach (var e in App.ResourceNotifications.WatchAsync(ct))
        {
            if ((e.ResourceId == nameOrId || e.Resource.Name == nameOrId) && predicate(e))
            {
                return;
            }
        }
    }

    /// <summary>The ids of a resource's replicas (the names commands need), once that many are healthy.</summary>
    public async Task<IReadOnlyList<string>> HealthyReplicasAsync(string name, int count)
    {
        using var cts = new CancellationTokenSource(DefaultTimeout);
        var healthy = new HashSet<string>();
        await foreach (var e in App.ResourceNotifications.WatchAsync(cts.Token))
        {
            if (e.Resource.Name != name)
            {
                continue;
            }

            if (e.Snapshot.HealthStatus == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy)
            {
                healthy.Add(e.ResourceId);
            }
            else
            {
                healthy.Remove(e.ResourceId);
            }

            if (healthy.Count >= count)
            {
                return [.. healthy];
            }
        }

        throw new TimeoutException($"{count} healthy replicas of {name}");
    }

    /// <summary>Starts a stopped resource and waits until it is healthy again.</summary>
    public async Task StartResourceAsync(string name)
    {
        using var cts = new CancellationTokenSource(DefaultTimeout);
        var result = await App.ResourceCommands.ExecuteCommandAsync(name, KnownResourceCommands.StartCommand, cts.Token);
        Assert.True(result.Success, result.Message);
        await WaitForAsync(name, e => e.Snapshot.State?.Text == "Running" && e.Snapshot.HealthStatus == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, cts.Token);
        ExitGuard.Started(name);
    }

    public async Task<string> ParameterValueAsync(string name, CancellationToken ct)
    {
        var model = App.Services.GetRequiredService<DistributedApplicationModel>();
        var parameter = model.Resources.OfType<ParameterResource>().Single(p => p.Name == name);
        return (await parameter.GetValueAsync(ct))!;
    }

    public HttpRequestMessage Ingest(string path, object body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        request.Headers.Add("X-Api-Key", IngestApiKey);
        return request;
    }

    public Task<HttpResponseMessage> PostUsageAsync(object body) => Api.SendAsync(Ingest("/api/v1/llm-usage", body));

    public Task<HttpResponseMessage> PostBatchAsync(object body) => Api.SendAsync(Ingest("/api/v1/llm-usage/batch", body));

    /// <summary>A user's month totals as stored in Redis (cost in micro-dollars, token and request counts).</summary>
    public async Task<Dictionary<string, long>> UserTotalsAsync(string userId, string? month = null)
    {
        ExitGuard.ThrowIfExited();
        RedisValue[] fields = [.. LedgerKeys.Counters.Select(c => (RedisValue)c)];
        var values = await Redis.GetDatabase().HashGetAsync(Keys.UserMonth(userId, month ?? CurrentMonth), fields);
        // The ledger leaves out totals that never moved (0); a user with no usage has no totals at all.
        return values.Any(v => v.HasValue)
            ? fields.Zip(values).ToDictionary(f => f.First.ToString(), f => f.Second.HasValue ? (long)f.Second : 0)
            : [];
    }

    /// <summary>A user's alert states (<c>alert|{threshold}</c> fields of the user-month hash).</summary>
    public async Task<HashEntry[]> AlertStatesAsync(string userId, string? month = null)
    {
        var entries = await Redis.GetDatabase().HashGetAllAsync(Keys.UserMonth(userId, month ?? CurrentMonth));
        return [.. entries.Where(e => e.Name.ToString().StartsWith(LedgerKeys.AlertPrefix, StringComparison.Ordinal))];
    }

    /// <summary>Waits until the user's month shows <paramref name="requests"/> requests, then returns its totals.</summary>
    public Task<Dictionary<string, long>> WaitForRequestsAsync(string userId, long requests, string? month = null) =>
        Eventually.ReturnsAsync(
            () => UserTotalsAsync(userId, month),
            totals => totals.GetValueOrDefault("requests") >= requests,
            because: $"{userId} to reach {requests} requests");

    /// <summary>The user's score in their bucket's report index for a month.</summary>
    public Task<double?> MonthScoreAsync(string userId, string? month = null) =>
        Redis.GetDatabase().SortedSetScoreAsync(Keys.MonthUsers(Keys.BucketOf(userId), month ?? CurrentMonth), userId);

    public static string CurrentMonth => DateTime.UtcNow.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture);

    public static string NewUser(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    /// <summary>Gives the user an enforced budget through the admin API (budget holds past it get 402).</summary>
    public async Task EnforceBudgetAsync(string userId, decimal budgetUsd)
    {
        using var response = await Api.SendAsync(Admin(HttpMethod.Put, $"/api/v1/admin/budgets/{userId}", new { monthlyBudgetUsd = budgetUsd, enforce = true }));
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        var budget = await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        Assert.True(budget.GetProperty("enforce").GetBoolean());
    }

    /// <summary>The user's held sum as stored (micro-USD).</summary>
    public async Task<long> HeldMicrosAsync(string userId) =>
        (long)await Redis.GetDatabase().HashGetAsync(Keys.UserHoldData(userId), LedgerKeys.HeldField);

    public HttpRequestMessage Admin(HttpMethod method, string path, object? body = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        request.Headers.Add("X-Admin-Key", AdminApiKey);
        return request;
    }
}

[CollectionDefinition(Name)]
public sealed class AppCollection : ICollectionFixture<AppFixture>
{
    public const string Name = "app";
}
