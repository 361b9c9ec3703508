using LlmCostTracker.Contracts;
using MassTransit;

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
    public UserBudgetChangedConsumerDefinition()
    {
        EndpointName = QueueNames.BudgetChanges;
        // One at a time: changes are rare, and applying them in the order they were made keeps the last one winning.
        ConcurrentMessageLimit = 1;
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<UserBudgetChangedConsumer> consumerConfigurator,
        IRegistrationContext context) =>
        endpointConfigurator.UseMessageRetry(retry => retry.Exponential(20, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(200)));
}
