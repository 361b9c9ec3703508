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

    // Declared by the worker before any message fails, as MassTransit would declare them (the receive queue's type),
    // so that counting what waits in them never asks for a queue that does not exist (the broker logs each such ask
    // as an error).
    [Theory]
    [InlineData(QueueNames.UsageAggregation + QueueNames.ErrorSuffix)]
    [InlineData(QueueNames.AlertWebhooks + QueueNames.ErrorSuffix)]
    public async Task With_quorum_configured_the_error_queues_exist_as_quorum_queues(string queue) =>
        Assert.True(await QueueTypes.ErrorQueueDeclaresAsAsync(app, queue, MessagingOptions.Quorum));

    [Fact]
    public async Task With_quorum_configured_a_failed_message_reaches_the_declared_error_queue()
    {
        // MassTransit declares the error queue again when it moves the first failed message there: with other
        // arguments than the worker's, the broker would refuse that declare and the message could not move.
        Assert.True(await QueueTypes.ErrorQueueDeclaresAsAsync(app, QueueNames.UsageAggregation + QueueNames.ErrorSuffix, MessagingOptions.Quorum));
        var user = AppFixture.NewUser("quorum-deadletter");
        var key = app.Keys.UserMonth(user, AppFixture.CurrentMonth);
        Assert.True(await app.Redis.GetDatabase().StringSetAsync(key, "not a hash"));
        await using (var bus = await TestBus.StartAsync(app.App))
        {
            await bus.Publish(new LlmUsageRecorded { Events = [DeadLetterTests.Usage(user)] });
        }

        await Eventually.ReturnsAsync(() => QueueTypes.ErrorQueueHoldsAsync(app, user), found => found, because: "the message to exhaust its retries");
        Assert.True(await app.Redis.GetDatabase().KeyDeleteAsync(key));
    }
}

[Collection(AppCollection.Name)]
public sealed class ClassicQueueTests(AppFixture app)
{
    [Fact]
    public async Task By_default_the_usage_queue_is_not_a_quorum_queue() =>
        Assert.False(await QueueTypes.DeclaresAsAsync(app, QueueNames.UsageAggregation, MessagingOptions.Quorum));

    [Theory]
    [InlineData(QueueNames.UsageAggregation + QueueNames.ErrorSuffix)]
    [InlineData(QueueNames.AlertWebhooks + QueueNames.ErrorSuffix)]
    public async Task By_default_the_error_queues_exist_as_classic_queues(string queue) =>
        Assert.False(await QueueTypes.ErrorQueueDeclaresAsAsync(app, queue, MessagingOptions.Quorum));
}
