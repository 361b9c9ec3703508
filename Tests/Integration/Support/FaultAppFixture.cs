using LlmCostTracker.Tests.Integration.Support;

namespace LlmCostTracker.Tests.Integration;

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
