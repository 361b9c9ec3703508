using LlmCostTracker.Contracts;
using MassTransit;
using Microsoft.Extensions.Options;

namespace LlmCostTracker.WorkerService.Budgets;

/// <summary>After an admin changes a budget: re-arms thresholds now above the spend, publishes those now crossed.</summary>
public sealed class UserBudgetChangedConsumer(AlertStates states, BudgetAlerts alerts) : IConsumer<UserBudgetChanged>
{
    public async Task Consume(ConsumeContext<UserBudgetChanged> context)
    {
        foreach (var crossed in await states.ReevaluateAsync(context.Message.UserId, context.Message.Month))
        {
            await alerts.PublishAsync(crossed, crossing: null, context, context.CancellationToken);
        }
    }
}

public sealed class UserBudgetChangedConsumerDefinition : ConsumerDefinition<UserBudgetChangedConsumer>
{
    private readonly RetryOptions _retry;

    public UserBudgetChangedConsumerDefinition(IOptions<RetryOptions> retry)
    {
        _retry = retry.Value;
        EndpointName = QueueNames.BudgetChanges;
        // One at a time: changes are rare, and applying them in the order they were made keeps the last one winning.
        ConcurrentMessageLimit = 1;
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<UserBudgetChangedConsumer> consumerConfigurator,
        IRegistrationContext context) =>
        endpointConfigurator.UseMessageRetry(retry => retry.Exponential(_retry.BudgetChangeRetries, _retry.MinDelay, _retry.MaxDelay, _retry.DelayStep));
}
