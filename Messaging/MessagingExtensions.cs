using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace LlmCostTracker.Messaging;

public static class MessagingExtensions
{
    /// <summary>MassTransit on RabbitMQ (<c>ConnectionStrings:rabbitmq</c>) as both services hold it: bounded connects
    /// and reconnects (<see cref="BrokerConnectionOptions"/>), a stop inside <c>Shutdown:Timeout</c> less a second, and
    /// a health check that says Degraded, not Unhealthy, while the bus is not (or not yet) connected: that is a state
    /// the service recovers from, and /health still answers 503 for it, but it is not an error to log at every start.</summary>
    public static void AddBrokerMessaging(this IHostApplicationBuilder builder,
        Action<IBusRegistrationConfigurator> registration,
        Action<IBusRegistrationContext, IRabbitMqBusFactoryConfigurator> configure)
    {
        var connectionString = builder.Configuration.GetConnectionString("rabbitmq")
            ?? throw new InvalidOperationException("ConnectionStrings:rabbitmq is not set (the AppHost provides it).");
        builder.Services.AddOptions<BrokerConnectionOptions>()
            .BindConfiguration(BrokerConnectionOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        builder.Services.AddMassTransit(bus =>
        {
            registration(bus);
            bus.ConfigureHealthCheckOptions(health => health.MinimalFailureStatus = HealthStatus.Degraded);
            bus.UsingRabbitMq((context, cfg) =>
            {
                cfg.UseBroker(connectionString, context.GetRequiredService<IOptions<BrokerConnectionOptions>>().Value);
                configure(context, cfg);
            });
        });
        builder.Services.AddBoundedBusStop();
        builder.Services.Configure<MassTransitHostOptions>(options =>
        {
            options.WaitUntilStarted = false;
            // The bus's stop inside the service's stop bound, with a second left for the rest.
            var bound = builder.Configuration.ShutdownTimeout() - TimeSpan.FromSeconds(1);
            options.StopTimeout = bound > TimeSpan.FromSeconds(1) ? bound : TimeSpan.FromSeconds(1);
            // A consumer still working half-way through that bound has its CancellationToken cancelled: without this a
            // webhook delivery waiting on an endpoint that does not answer (or in a retry's delay) held the stop past
            // its bound. What is cancelled is not acknowledged, so the broker gives it to the next start (a delivery
            // keeps its webhook-id; the ledger's claims count an event once).
            options.ConsumerStopTimeout = options.StopTimeout / 2;
        });
    }
}
