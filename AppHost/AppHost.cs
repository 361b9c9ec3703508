using LlmCostTracker.AppHost.Infrastructure;
using LlmCostTracker.Contracts;

var builder = DistributedApplication.CreateBuilder(args);

var ingestApiKey = builder.AddParameter("ingest-api-key", new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true, persist: true);
var adminApiKey = builder.AddParameter("admin-api-key", new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true, persist: true);
// The signing secret of the first alert webhook (Alerts__Webhooks__0__Url): 32 letters and digits are base64 of 24
// bytes, so whsec_ + it is a Standard Webhooks secret.
var alertWebhookSecret = builder.AddParameter("alert-webhook-secret", new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true, persist: true);

IResourceBuilder<IResourceWithConnectionString> redis;
IResourceBuilder<IResourceWithConnectionString> rabbitmq;
// History (months kept past Redis's 35 days): PostgreSQL, one database the services know by the connection name
// "history".
IResourceBuilder<IResourceWithConnectionString> history;
const string HistoryDatabase = "history";
var redisShards = RedisShards.Resolve(builder.Configuration);
if (InfrastructureModeResolver.Resolve(builder.Configuration) == InfrastructureMode.Container)
{
    RedisShards.RequireSingle(redisShards);
    redis = builder.AddRedis("redis").WithDataVolume();
    rabbitmq = builder.AddRabbitMQ("rabbitmq").WithDataVolume().WithManagementPlugin();
    history = builder.AddPostgres("postgres").WithDataVolume().AddDatabase(HistoryDatabase);
}
else
{
    var data = RunDataDirectory.Create(builder.Configuration);
    builder.Services.AddSingleton<IHostedService>(services =>
    {
        data.CleanUpOnExit(services.GetRequiredService<IHostApplicationLifetime>());
        return data;
    });
    redis = builder.AddLocalRedis("redis", data, redisShards);
    rabbitmq = builder.AddLocalRabbitMq("rabbitmq", data);
    history = builder.AddLocalPostgres("postgres", HistoryDatabase, data);
}

// Settings both services must share: budgets (Budgets__DefaultMonthlyBudgetUsd, Budgets__ThresholdsPercent__0, ...),
// the ledger's layout (Ledger__Buckets), the broker's queue type (Messaging__QueueType) and configured prices
// (Pricing__Models__<id>__Input, ...: the worker prices with them, the API's pricing endpoints show them) and the
// tag dimensions (Attribution__Dimensions__0, Attribution__MaxValuesPerDimension: the API validates and reports, the
// worker aggregates and caps), OTLP ingestion's (OtlpIngest__DefaultUser, OtlpIngest__Tags__<attribute>: the API's) and
// the alert webhooks (Alerts__Webhooks__N__Url, __Format, __Events__N, __Secret: the worker delivers, the API tests) and
// history (History__Retention, History__FlushInterval, ...: the worker writes the rollups, the API reads them).
var sharedSettings = new[] { "Alerts", "Attribution", "Budgets", "History", "Ledger", "Messaging", "OtlpIngest", "Pricing" }
    .SelectMany(section => builder.Configuration.GetSection(section).AsEnumerable(makePathsRelative: false))
    .Where(setting => setting.Value is not null)
    .ToDictionary(setting => setting.Key.Replace(":", "__", StringComparison.Ordinal), setting => setting.Value!);

var api = builder.AddProject<Projects.ApiService>("apiservice")
    .WithReference(redis).WaitFor(redis)
    .WithReference(rabbitmq).WaitFor(rabbitmq)
    // Reads months Redis has let go; waits for nothing: the API serves without it.
    .WithReference(history, HistoryDatabase)
    .WithEnvironment("Ingest__ApiKey", ingestApiKey)
    .WithEnvironment("Admin__ApiKey", adminApiKey)
    // Replicas share nothing but Redis and the broker (budget holds are one atomic script each), so any number can
    // serve behind the orchestrator's proxy.
    .WithReplicas(builder.Configuration.GetValue("ApiService:Replicas", 1))
    .WithHttpHealthCheck("/health");

var worker = builder.AddProject<Projects.WorkerService>("workerservice")
    .WithReference(redis).WaitFor(redis)
    .WithReference(rabbitmq).WaitFor(rabbitmq)
    // Writes the daily rollups; waits for nothing: ingestion never waits on PostgreSQL, rollups catch up.
    .WithReference(history, HistoryDatabase)
    .WithReplicas(builder.Configuration.GetValue("WorkerService:Replicas", 1))
    .WithHttpHealthCheck("/health")
    // In the worker's health details in the dashboard: how many usage messages exhausted their retries.
    .WithHealthCheck(DeadLetterHealth.Name)
    .WithHealthCheck(DeadLetterHealth.WebhooksName)
    // In the dashboard's menu of the worker: moves usage messages that exhausted their retries back to their queue.
    .WithCommand("replay-failed-usage", "Replay failed usage messages", async context =>
    {
        var connectionString = await rabbitmq.Resource.ConnectionStringExpression.GetValueAsync(context.CancellationToken);
        var moved = await DeadLetters.ReplayAsync(connectionString!, QueueNames.UsageAggregation, context.CancellationToken);
        return new ExecuteCommandResult { Success = true, Message = $"{moved} failed usage messages moved back to {QueueNames.UsageAggregation}." };
    }, new CommandOptions
    {
        Description = "Moves the messages in llm-usage-aggregation_error back to llm-usage-aggregation; each event still counts once.",
        IconName = "ArrowRepeatAll",
    })
    // Alert deliveries that exhausted their attempts (or were refused) go out again, with their webhook-id.
    .WithCommand("replay-failed-webhooks", "Replay failed alert webhooks", async context =>
    {
        var connectionString = await rabbitmq.Resource.ConnectionStringExpression.GetValueAsync(context.CancellationToken);
        var moved = await DeadLetters.ReplayAsync(connectionString!, QueueNames.AlertWebhooks, context.CancellationToken);
        return new ExecuteCommandResult { Success = true, Message = $"{moved} failed alert webhook deliveries moved back to {QueueNames.AlertWebhooks}." };
    }, new CommandOptions
    {
        Description = "Moves the deliveries in llm-alert-webhooks_error back to llm-alert-webhooks; each keeps its webhook-id.",
        IconName = "ArrowRepeatAll",
    });
if (builder.Configuration["Alerts:Webhooks:0:Url"] is { Length: > 0 } && builder.Configuration["Alerts:Webhooks:0:Secret"] is null)
{
    // The API signs its test sends (POST /api/v1/admin/alerts/webhooks/0/test) with the same secret.
    worker.WithEnvironment("Alerts__Webhooks__0__Secret", ReferenceExpression.Create($"whsec_{alertWebhookSecret}"));
    api.WithEnvironment("Alerts__Webhooks__0__Secret", ReferenceExpression.Create($"whsec_{alertWebhookSecret}"));
}

var deadLetterCountInterval = builder.Configuration.GetValue("WorkerService:DeadLetterCountInterval", DeadLetterHealth.DefaultInterval);
// The services' setting (passed on above with the Messaging section), validated by them.
var quorumQueues = builder.Configuration["Messaging:QueueType"] == "quorum";
builder.Services.AddHealthChecks()
    .AddAsyncCheck(DeadLetterHealth.Name, async ct =>
        await DeadLetterHealth.Usage.CheckAsync((await rabbitmq.Resource.ConnectionStringExpression.GetValueAsync(ct))!, quorumQueues, deadLetterCountInterval, ct))
    .AddAsyncCheck(DeadLetterHealth.WebhooksName, async ct =>
        await DeadLetterHealth.Webhooks.CheckAsync((await rabbitmq.Resource.ConnectionStringExpression.GetValueAsync(ct))!, quorumQueues, deadLetterCountInterval, ct));

// The admins' web page: reads the admin API through service discovery with the admin key, which stays on the
// server (the admin signs in with it and gets a session cookie).
var dashboard = builder.AddProject<Projects.CostDashboard>("costdashboard")
    .WithReference(api).WaitFor(api)
    .WithEnvironment("Admin__ApiKey", adminApiKey)
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/health");

// Sentry stays off unless the AppHost is given a DSN (environment SENTRY_DSN); then both services report to it.
if (builder.Configuration["SENTRY_DSN"] is { Length: > 0 } sentryDsn)
{
    sharedSettings["SENTRY_DSN"] = sentryDsn;
}

// Trace sampling (OpenTelemetry's standard variables, read by each service's SDK): every trace by default, which is
// what a developer wants; in production, e.g. OTEL_TRACES_SAMPLER=parentbased_traceidratio, OTEL_TRACES_SAMPLER_ARG=0.1.
foreach (var variable in new[] { "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG" })
{
    if (builder.Configuration[variable] is { Length: > 0 } sampler)
    {
        sharedSettings[variable] = sampler;
    }
}

foreach (var (key, value) in sharedSettings)
{
    api.WithEnvironment(key, value);
    worker.WithEnvironment(key, value);
    // Attribution (the tag dimensions its pages offer) and Sentry; the rest is harmless there.
    dashboard.WithEnvironment(key, value);
}

// On Ctrl+C the services stop, and exit, before Redis, the broker, PostgreSQL and the dashboard (Shutdown:ServicesTimeout).
builder.Services.AddHostedService<ServicesStopFirst>();

builder.Build().Run();
