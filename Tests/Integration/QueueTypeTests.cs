using LlmCostTracker.Contracts;
using LlmCostTracker.Messaging;

namespace LlmCostTracker.Tests.Integration;

[Collection(FaultCollection.Name)]
public sealed class QuorumQueueTests(FaultAppFixture app)
{
    [Theory]
    [InlineData(QueueNames.UsageAggregation)]
    [InlineData(QueueNames.BudgetChanges)]
    public async Task With_quorum_configured_the_queues_are_quorum_queues(string queue) =>
        Assert.True(await QueueTypes.DeclaresAsAsync(app, queue, MessagingOptions.Quorum));
}

[Collection(AppCollection.Name)]
public sealed class ClassicQueueTests(AppFixture app)
{
    [Fact]
    public async Task By_default_the_usage_queue_is_not_a_quorum_queue() =>
        Assert.False(await QueueTypes.DeclaresAsAsync(app, QueueNames.UsageAggregation, MessagingOptions.Quorum));
}
