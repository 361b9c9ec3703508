using System.Diagnostics;
using Microsoft.AspNetCore.Hosting;

namespace Microsoft.Extensions.Hosting;

public static partial class Extensions
{
    /// <summary>Sentry error tracking, on only when <c>SENTRY_DSN</c> is set: without it nothing is registered,
    /// nothing is sent and start-up is unaffected. Events carry the OpenTelemetry trace id (tag <c>trace_id</c>
    /// and the trace context), so an error in Sentry leads to its trace in the dashboard.</summary>
    public static TBuilder AddSentryWhenConfigured<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        var dsn = builder.Configuration["SENTRY_DSN"];
        if (string.IsNullOrWhiteSpace(dsn) || builder is not Microsoft.AspNetCore.Builder.WebApplicationBuilder web)
        {
            return builder;
        }

        web.WebHost.UseSentry(options =>
        {
            options.Dsn = dsn;
            options.Environment = builder.Environment.EnvironmentName;
            options.SendDefaultPii = false;
            options.TracesSampleRate = 0;
            options.SetBeforeSend(sentryEvent =>
            {
                if (Activity.Current is { } activity)
                {
                    sentryEvent.SetTag("trace_id", activity.TraceId.ToHexString());
                    sentryEvent.SetTag("span_id", activity.SpanId.ToHexString());
                }

                return sentryEvent;
            });
        });
        return builder;
    }
}
