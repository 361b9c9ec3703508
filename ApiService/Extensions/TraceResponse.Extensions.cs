using System.Diagnostics;

namespace LlmCostTracker.ApiService.Extensions;

public static class TraceResponseExtensions
{
    /// <summary>Answers every request with a W3C <c>traceresponse</c> header naming the request's trace, so a caller
    /// can find the trace (and match the budget alert its event caused, which carries the same trace id).</summary>
    public static IApplicationBuilder UseTraceResponse(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            var activity = Activity.Current;
            if (activity is not null)
            {
                context.Response.OnStarting(() =>
                {
                    context.Response.Headers["traceresponse"] = $"00-{activity.TraceId.ToHexString()}-{activity.SpanId.ToHexString()}-{(activity.Recorded ? "01" : "00")}";
                    return Task.CompletedTask;
                });
            }

            return next(context);
        });
}
