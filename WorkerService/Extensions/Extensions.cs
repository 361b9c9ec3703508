using LlmCostTracker.WorkerService.Aggregation;
using MassTransit;

namespace LlmCostTracker.WorkerService.Extensions;

public static class Extensions
{
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddRedisClient("redis");
        builder.Services.AddSingleton(TimeProvider.System);

        var connectionString = builder.Configuration.GetConnectionString("rabbitmq")
            ?? throw new InvalidOperationException("ConnectionStrings:rabbitmq is not set (the AppHost provides it).");

        builder.Services.AddMassTransit(bus =>
        {
            bus.AddConsumer<LlmUsageRecordedConsumer, LlmUsageRecordedConsumerDefinition>();
            bus.UsingRabbitMq((context, cfg) =>
            {
                cfg.Host(new Uri(connectionString));
                cfg.ConfigureEndpoints(context);
            });
        });
        builder.Services.Configure<MassTransitHostOptions>(options => options.WaitUntilStarted = false);
    }
}
