using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

// Adds common Aspire services: service discovery, resilience, health checks, OpenTelemetry and Sentry.
public static partial class Extensions
{
    private const string HealthEndpointPath = "/health";
    private const string AlivenessEndpointPath = "/alive";

    /// <summary>Activity sources and meters of libraries we use without referencing them here.</summary>
    private static readonly string[] LibrarySources = ["MassTransit", "StackExchange.Redis", "LlmCostTracker"];

    /// <summary>Marks a service's requests to itself (the API's start-up warm-up): they are not traced. Anyone may send
    /// it; it leaves only that request out of the traces (its event is recorded as any other's).</summary>
    public const string WarmUpHeader = "X-LlmCost-Warm-Up";

    private static readonly string[] OtlpExporterClients = ["OtlpTraceExporter", "OtlpMetricExporter", "OtlpLogExporter"];

    /// <summary><c>Shutdown:Timeout</c> (5 s): the bound on a service's stop.</summary>
    public static TimeSpan ShutdownTimeout(this IConfiguration configuration) => configuration.GetValue("Shutdown:Timeout", TimeSpan.FromSeconds(5));

    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry();
        builder.AddDefaultHealthChecks();
        builder.AddSentryWhenConfigured();

        // Every service stops within this bound (Shutdown:Timeout, 5 s) in any state: what is still running then
        // (a Redis call waiting for its timeout, a message being retried) is abandoned; nothing acknowledged depends
        // on it (unacknowledged messages are redelivered, a request cut off was not answered 202).
        builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = builder.Configuration.ShutdownTimeout());

        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            http.AddStandardResilienceHandler();
            http.AddServiceDiscovery();
        });

        return builder;
    }

    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter(LibrarySources))
            .WithTracing(tracing => tracing
                .AddSource(builder.Environment.ApplicationName)
                .AddSource(LibrarySources)
                .AddAspNetCoreInstrumentation(options =>
                    options.Filter = context =>
                        !context.Request.Path.StartsWithSegments(HealthEndpointPath)
                        && !context.Request.Path.StartsWithSegments(AlivenessEndpointPath)
                        && !context.Request.Headers.ContainsKey(WarmUpHeader))
                .AddHttpClientInstrumentation());

        builder.AddOpenTelemetryExporters();
        return builder;
    }

    private static TBuilder AddOpenTelemetryExporters<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            builder.Services.AddOpenTelemetry().UseOtlpExporter();
            // The exporters retry by themselves; the default resilience handler's retries and 30 s budget around
            // them only held up shutdown (the last flush) by seconds.
            foreach (var client in OtlpExporterClients)
            {
#pragma warning disable EXTEXP0001 // Experimental, but the documented way to take the default handler off one client.
                builder.Services.AddHttpClient(client).RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001
            }
        }

        // For running one service alone, without the dashboard: spans and metrics on the console.
        if (builder.Configuration.GetValue<bool>("Telemetry:ConsoleExporter"))
        {
            builder.Services.AddOpenTelemetry()
                .WithTracing(tracing => tracing.AddConsoleExporter())
                .WithMetrics(metrics => metrics.AddConsoleExporter());
        }

        return builder;
    }

    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), ["live"]);
        // A check without a timeout (the Redis client's has none, and its ping takes no cancellation token) waits
        // as long as its client does when the server hangs: 5 s with Redis paused or behind the orchestrator's proxy
        // while it is down. /health then answered after 5 s, and a stop waited that long for the request in flight.
        // Every check gets HealthChecks:Timeout, and is no longer waited for past it.
        var timeout = builder.Configuration.HealthCheckTimeout();
        builder.Services.PostConfigure<HealthCheckServiceOptions>(options =>
        {
            foreach (var registration in options.Registrations)
            {
                if (registration.Timeout == Timeout.InfiniteTimeSpan || registration.Timeout > timeout)
                {
                    registration.Timeout = timeout;
                }

                var factory = registration.Factory;
                registration.Factory = services => new BoundedHealthCheck(factory(services));
            }
        });
        return builder;
    }

    /// <summary>Stops waiting for a check when its token is cancelled (the health check service's timeout), which
    /// the service then reports as a timeout (unhealthy).</summary>
    private sealed class BoundedHealthCheck(IHealthCheck check) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            check.CheckHealthAsync(context, cancellationToken).WaitAsync(cancellationToken);
    }

    /// <summary><c>HealthChecks:Timeout</c> (2 s): the longest any health check runs; it is unhealthy after that.</summary>
    public static TimeSpan HealthCheckTimeout(this IConfiguration configuration) => configuration.GetValue("HealthChecks:Timeout", TimeSpan.FromSeconds(2));

    /// <summary>/health (every check: ready to serve) and /alive (the process answers). Both answer only
    /// "Healthy"/"Unhealthy": no check names, exceptions or connection details leave the process.</summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        // Degraded (a dependency not connected yet, or reconnecting) is not ready to serve: 503, as Unhealthy is.
        // Checks report it rather than Unhealthy so that a normal start logs no error.
        MapHealth(app, HealthEndpointPath, new HealthCheckOptions
        {
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status503ServiceUnavailable,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        });
        MapHealth(app, AlivenessEndpointPath, new HealthCheckOptions
        {
            Predicate = registration => registration.Tags.Contains("live"),
        });
        return app;
    }

    /// <summary>What MapHealthChecks maps, behind <see cref="EndWhenStoppingAsync"/>: a stop waits for the requests in
    /// flight (Kestrel's graceful stop), and a check waits up to HealthChecks:Timeout for a dependency that does not
    /// answer; with Redis down, the worker's stop waited 2 s for the orchestrator's /health poll before it stopped
    /// anything else. In the endpoint's own pipeline, so no other request pays for it.</summary>
    private static void MapHealth(WebApplication app, string path, HealthCheckOptions options) =>
        app.Map(path, ((IEndpointRouteBuilder)app).CreateApplicationBuilder()
                .Use(EndWhenStoppingAsync)
                .UseMiddleware<HealthCheckMiddleware>(Microsoft.Extensions.Options.Options.Create(options))
                .Build())
            .WithDisplayName("Health checks");

    /// <summary>A stopping service is not ready: its health requests end as soon as the stop begins, with 503.</summary>
    private static async Task EndWhenStoppingAsync(HttpContext context, RequestDelegate next)
    {
        var stopping = context.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        using var either = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        context.RequestAborted = either.Token;
        try
        {
            await next(context);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested && !context.Response.HasStarted)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        }
    }
}
