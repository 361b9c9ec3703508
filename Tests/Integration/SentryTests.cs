using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;
using LlmCostTracker.Contracts;
using LlmCostTracker.Tests.Integration.Support;

namespace LlmCostTracker.Tests.Integration;

/// <summary>A local HTTP listener posing as Sentry: it records every envelope it is sent.</summary>
public sealed class FakeSentry : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;

    public FakeSentry()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        Port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    public int Port { get; }

    public string Dsn => $"http://0123456789abcdef0123456789abcdef@127.0.0.1:{Port}/42";

    public ConcurrentQueue<(string Path, string Body)> Envelopes { get; } = new();

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            Stream body = context.Request.InputStream;
            if (context.Request.Headers["Content-Encoding"] == "gzip")
            {
                body = new GZipStream(body, CompressionMode.Decompress);
            }

            using (var reader = new StreamReader(body, Encoding.UTF8))
            {
                Envelopes.Enqueue((context.Request.Url!.AbsolutePath, await reader.ReadToEndAsync()));
            }

            context.Response.StatusCode = 200;
            context.Response.Close();
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }
}

/// <summary>The app the fault tests stop and start parts of: two worker replicas, quorum queues, and both services'
/// SENTRY_DSN pointing at <see cref="FakeSentry"/>.</summary>
public sealed class FaultAppFixture : AppFixture
{
    public const int WorkerReplicas = 2;

    public FakeSentry Sentry { get; } = new();

    /// <summary>Where the API pulls a catalog from every second (404 until a test serves one).</summary>
    public CatalogServer CatalogServer { get; } = new();

    // Quorum queues here, classic in the main app: the broker restart and redelivery tests run on quorum queues.
    protected override string[] AppHostArgs => [$"WorkerService:Replicas={WorkerReplicas}", "Messaging:QueueType=quorum"];

    protected override void Configure(IDistributedApplicationTestingBuilder appHost)
    {
        foreach (var name in new[] { "apiservice", "workerservice" })
        {
            appHost.CreateResourceBuilder<ProjectResource>(name).WithEnvironment("SENTRY_DSN", Sentry.Dsn);
        }

        appHost.CreateResourceBuilder<ProjectResource>("apiservice")
            .WithEnvironment("Pricing__CatalogUrl", CatalogServer.Url.ToString())
            .WithEnvironment("Pricing__CatalogPullInterval", "00:00:01");
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Sentry.Dispose();
        CatalogServer.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class FaultCollection : ICollectionFixture<FaultAppFixture>
{
    public const string Name = "faults";
}

[Collection(FaultCollection.Name)]
public sealed class SentryTests(FaultAppFixture app)
{
    [Fact]
    public async Task An_unhandled_API_exception_reaches_Sentry_with_its_trace_id()
    {
        // Redis stopped: the report's reads throw, an exception nothing in the API handles.
        await app.StopResourceAsync("redis");
        try
        {
            var response = await app.Api.SendAsync(app.Admin(HttpMethod.Get, "/api/v1/admin/llm-costs"));
            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
            var traceId = Assert.Single(response.Headers.GetValues("traceresponse")).Split('-')[1];

            // The API's envelope for this request, found by its trace id (the worker may report Redis errors too).
            var envelope = await Eventually.ReturnsAsync(
                () => Task.FromResult(app.Sentry.Envelopes.FirstOrDefault(e => e.Body.Contains($"\"trace_id\":\"{traceId}\"", StringComparison.Ordinal))),
                e => e.Body is not null, because: "the API's exception envelope");
            Assert.Equal("/api/42/envelope/", envelope.Path);
            Assert.Contains("LlmCostTracker.ApiService", envelope.Body);
            Assert.Contains("RedisConnectionException", envelope.Body);
        }
        finally
        {
            await app.StartResourceAsync("redis");
        }
    }

    [Fact]
    public async Task A_consumer_that_fails_for_good_reaches_Sentry_with_a_trace_id()
    {
        await using var bus = await TestBus.StartAsync(app.App);
        // A message no API would send: an event without a model makes the consumer throw on every attempt.
        await bus.Publish(new LlmUsageRecorded
        {
            Events =
            [
                new LlmUsage
                {
                    EventId = Guid.NewGuid().ToString("N"), UserId = "poison", Model = null!, InputTokens = 1,
                    CachedInputTokens = 0, OutputTokens = 1, OccurredAt = DateTimeOffset.UtcNow,
                },
            ],
        });

        var envelope = await Eventually.ReturnsAsync(
            () => Task.FromResult(app.Sentry.Envelopes.FirstOrDefault(e => e.Body.Contains("LlmUsageRecorded consumer failed for good", StringComparison.Ordinal))),
            e => e.Body is not null, because: "the worker's fault envelope");
        Assert.Matches("\"trace_id\":\"[0-9a-f]{32}\"", envelope.Body);
    }
}
