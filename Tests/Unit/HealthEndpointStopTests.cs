using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace LlmCostTracker.Tests.Unit;

/// <summary>A service's stop waits for the requests in flight, and a health check waits for a dependency that does not
/// answer: with Redis down, the worker's stop waited 2 s for the orchestrator's /health poll (a CI run's stop took
/// 10.35 s against the tests' 10 s bound). The defaults' /health ends its request when the stop begins.</summary>
public sealed class HealthEndpointStopTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_health_request_waiting_on_a_check_ends_with_503_when_the_service_stops()
    {
        var checking = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        // Far past the bound below: without the defaults' handling the request (and the stop) would wait this long.
        builder.Configuration["HealthChecks:Timeout"] = "00:05:00";
        builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromMinutes(5));
        builder.AddDefaultHealthChecks();
        builder.Services.AddHealthChecks().AddAsyncCheck("a dependency that does not answer", async ct =>
        {
            checking.TrySetResult();
            await Task.Delay(Timeout.InfiniteTimeSpan, ct);
            return HealthCheckResult.Healthy();
        });
        await using var app = builder.Build();
        app.MapDefaultEndpoints();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();

        using var client = new HttpClient { BaseAddress = new Uri(address) };
        var health = client.GetAsync("/health");
        await checking.Task.WaitAsync(Bound);
        var stop = app.StopAsync();

        using var response = await health.WaitAsync(Bound);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        await stop.WaitAsync(Bound);
    }
}
