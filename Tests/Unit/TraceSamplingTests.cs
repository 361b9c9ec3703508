using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Trace;

namespace LlmCostTracker.Tests.Unit;

/// <summary>ServiceDefaults sets no sampler in code, so OpenTelemetry's standard variables (which the AppHost hands
/// every service) decide: all traces by default, fewer in production.</summary>
public sealed class TraceSamplingTests
{
    [Theory]
    [InlineData(null, null, true)]
    [InlineData("always_off", null, false)]
    [InlineData("traceidratio", "0", false)]
    [InlineData("parentbased_traceidratio", "1", true)]
    public void Root_traces_are_sampled_as_OTEL_TRACES_SAMPLER_says(string? sampler, string? argument, bool recorded)
    {
        // A source of its own: activity listeners are process-wide, and other tests' providers must not decide.
        var application = $"sampling-test-{Guid.NewGuid():N}";
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ApplicationName = application, DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["OTEL_TRACES_SAMPLER"] = sampler,
            ["OTEL_TRACES_SAMPLER_ARG"] = argument,
        }.Where(setting => setting.Value is not null));
        builder.ConfigureOpenTelemetry();
        using var host = builder.Build();
        Assert.NotNull(host.Services.GetService<TracerProvider>());

        using var source = new ActivitySource(application);
        using var activity = source.StartActivity("probe");

        Assert.Equal(recorded, activity?.Recorded ?? false);
    }
}
