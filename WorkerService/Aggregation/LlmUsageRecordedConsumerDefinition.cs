using LlmCostTracker.Contracts;
using MassTransit;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmCostTracker.WorkerService.Aggregation;

public sealed class LlmUsageRecordedConsumerDefinition : ConsumerDefinition<LlmUsageRecordedConsumer>
{
    private readonly AggregationOptions _options;

    public LlmUsageRecordedConsumerDefinition(IOptions<AggregationOptions> options)
    {
        _options = options.Value;
        EndpointName = QueueNames.UsageAggregation;
        // Messages consumed at once are the pool the ledger batcher coalesces into one write.
        ConcurrentMessageLimit = _options.ConcurrentMessages;
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<LlmUsageRecordedConsumer> consumerConfigurator,
        IRegistrationContext context)
    {
        endpointConfigurator.PrefetchCount = _options.ConcurrentMessages * 2;
        // Redis unreachable is worth waiting out (about 5 minutes); anything else fails sooner. What still fails
        // goes to the llm-usage-aggregation_error queue, never dropped; the scripts make every retry safe.
        endpointConfigurator.UseMessageRetry(retry =>
        {
            retry.Handle<RedisConnectionException>();
            retry.Handle<RedisTimeoutException>();
            retry.Exponential(40, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(200));
        });
        endpointConfigurator.UseMessageRetry(retry =>
        {
            retry.Ignore<RedisConnectionException>();
            retry.Ignore<RedisTimeoutException>();
            retry.Exponential(5, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(200));
        });
    }
}
