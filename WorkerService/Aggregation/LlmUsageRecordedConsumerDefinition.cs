using LlmCostTracker.Contracts;
using MassTransit;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmCostTracker.WorkerService.Aggregation;

public sealed class LlmUsageRecordedConsumerDefinition : ConsumerDefinition<LlmUsageRecordedConsumer>
{
    private readonly AggregationOptions _options;
    private readonly RetryOptions _retry;

    public LlmUsageRecordedConsumerDefinition(IOptions<AggregationOptions> options, IOptions<RetryOptions> retry)
    {
        _options = options.Value;
        _retry = retry.Value;
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
        // Redis unreachable is worth waiting out; anything else fails sooner. What still fails
        // goes to the llm-usage-aggregation_error queue, never dropped; the scripts make every retry safe.
        endpointConfigurator.UseMessageRetry(retry =>
        {
            retry.Handle<RedisConnectionException>();
            retry.Handle<RedisTimeoutException>();
            retry.Exponential(_retry.RedisUnavailableRetries, _retry.MinDelay, _retry.MaxDelay, _retry.DelayStep);
        });
        endpointConfigurator.UseMessageRetry(retry =>
        {
            retry.Ignore<RedisConnectionException>();
            retry.Ignore<RedisTimeoutException>();
            retry.Exponential(_retry.OtherFailureRetries, _retry.MinDelay, _retry.MaxDelay, _retry.DelayStep);
        });
    }
}
