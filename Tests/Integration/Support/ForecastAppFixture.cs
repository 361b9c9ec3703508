namespace LlmCostTracker.Tests.Integration;

/// <summary>The app with the burn-rate forecast scanning every second and ready to forecast from three events at
/// once (<c>Budgets:Forecast:MinHistory</c> 0), delivering alerts to a webhook receiver as the main app does. The
/// guards that the defaults keep (a day of history, ten events) are tested against the scanner with a fake clock.</summary>
public sealed class ForecastAppFixture : AppFixture
{
    public const int MinEvents = 3;

    protected override bool UsesWebhooks => true;

    protected override bool ForecastEnabled => true;

    protected override void Configure(IDistributedApplicationTestingBuilder appHost) =>
        appHost.CreateResourceBuilder<ProjectResource>("workerservice")
            .WithEnvironment("Budgets__Forecast__Interval", "00:00:01")
            .WithEnvironment("Budgets__Forecast__MinHistory", "00:00:00")
            .WithEnvironment("Budgets__Forecast__MinEvents", MinEvents.ToString(System.Globalization.CultureInfo.InvariantCulture));
}

[CollectionDefinition(Name)]
public sealed class ForecastCollection : ICollectionFixture<ForecastAppFixture>
{
    public const string Name = "forecast";
}
