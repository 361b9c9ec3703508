namespace LlmCostTracker.Tests.Integration;

/// <summary>The app whose Redis the history tests empty (FLUSHALL), so no other test shares it. Rollups are folded
/// every 200 ms and retried every 500 ms after a failure (the shipped 2 s and 5 s only cost less when idle), and three tag
/// dimensions are configured.</summary>
public sealed class HistoryAppFixture : AppFixture
{
    public const string Dimension = "team";

    protected override string[] AppHostArgs =>
    [
        // feature and environment too: the OTLP ingestion's default tag mapping names them.
        .. base.AppHostArgs, $"Attribution:Dimensions:0={Dimension}", "Attribution:Dimensions:1=feature", "Attribution:Dimensions:2=environment",
    ];

    protected override void Configure(IDistributedApplicationTestingBuilder appHost) =>
        appHost.CreateResourceBuilder<ProjectResource>("workerservice")
            .WithEnvironment("History__FlushInterval", "00:00:00.200")
            .WithEnvironment("History__RetryDelay", "00:00:00.500");
}

[CollectionDefinition(Name)]
public sealed class HistoryCollection : ICollectionFixture<HistoryAppFixture>
{
    public const string Name = "history";
}
