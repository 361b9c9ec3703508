namespace LlmCostTracker.Tests.Integration;

/// <summary>The worker stopped while events are posted. In the main app (one worker replica): stopping one of
/// several replicas through the orchestrator proved unreliable (the second stop ends in state Unknown).</summary>
[Collection(AppCollection.Name)]
public sealed class WorkerDownTests(AppFixture app)
{
    [Fact]
    public async Task Worker_down_queues_everything_and_counts_it_once_when_back()
    {
        var user = AppFixture.NewUser("workerdown");
        await app.StopResourceAsync("workerservice");
        try
        {
            await FaultScenarios.PostAcceptedAsync(app, user, 50);
            Assert.Empty(await app.UserTotalsAsync(user));
        }
        finally
        {
            await app.StartResourceAsync("workerservice");
        }

        await FaultScenarios.AssertExactTotalsAsync(app, user, 50);
    }
}
