using LlmCostTracker.Contracts;
using MassTransit;

namespace LlmCostTracker.WorkerService;

/// <summary>Reports a consumer's final failure (retries exhausted, message moved to the <c>_error</c> queue) to
/// Sentry, in the trace of the message that failed. A no-op when Sentry is off.</summary>
public sealed class ConsumerFaultReporter(ILogger<ConsumerFaultReporter> logger) : IConsumer<Fault<LlmUsageRecorded>>, IConsumer<Fault<UserBudgetChanged>>
{
    public Task Consume(ConsumeContext<Fault<LlmUsageRecorded>> context) => Report(context.Message, "LlmUsageRecorded");

    public Task Consume(ConsumeContext<Fault<UserBudgetChanged>> context) => Report(context.Message, "UserBudgetChanged");

    private Task Report(Fault fault, string messageType)
    {
        var exception = fault.Exceptions.FirstOrDefault();
        logger.LogError("{MessageType} message {MessageId} failed for good and was moved to the error queue: {ExceptionType}: {Message}",
            messageType, fault.FaultedMessageId, exception?.ExceptionType, exception?.Message);
        var sentryEvent = new SentryEvent
        {
            Level = SentryLevel.Error,
            Message = $"{messageType} consumer failed for good: {exception?.ExceptionType}: {exception?.Message}",
            Logger = "MassTransit",
        };
        // A tag, not in the message: Sentry groups events by their message, and the id differs for each.
        sentryEvent.SetTag("messaging.message.id", fault.FaultedMessageId?.ToString() ?? "");
        SentrySdk.CaptureEvent(sentryEvent);
        return Task.CompletedTask;
    }
}
