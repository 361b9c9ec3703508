using LlmCostTracker.Contracts;
using MassTransit;
using StackExchange.Redis;

namespace LlmCostTracker.WorkerService.Aggregation;

public sealed class LlmUsageRecordedConsumer(IConnectionMultiplexer redis) : IConsumer<LlmUsageRecorded>
{
    public async Task Consume(ConsumeContext<LlmUsageRecorded> context)
    {
        var db = redis.GetDatabase();
        foreach (var usage in context.Message.Events)
        {
            await db.HashIncrementAsync($"llmcost:{{u:{usage.UserId}}}:{usage.OccurredAt:yyyy-MM}:totals", "requests");
        }
    }
}

public sealed class LlmUsageRecordedConsumerDefinition : ConsumerDefinition<LlmUsageRecordedConsumer>
{
    public LlmUsageRecordedConsumerDefinition()
    {
        EndpointName = QueueNames.UsageAggregation;
    }
}
