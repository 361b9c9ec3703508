using System.Net;

namespace LlmCostTracker.Tests.Integration;

/// <summary>Events of a known price, and exact-total checks, for the fault tests.</summary>
public static class FaultScenarios
{
    // gpt-4o: 100 input × 2.50 + 100 output × 10 = 1,250 micro-dollars an event.
    public const long MicrosPerEvent = 1_250;

    public static object Event(string user) =>
        new { eventId = Guid.NewGuid().ToString("N"), userId = user, model = "gpt-4o", inputTokens = 100, outputTokens = 100 };

    public static async Task PostAcceptedAsync(AppFixture app, string user, int count)
    {
        var responses = await Task.WhenAll(Enumerable.Range(0, count).Select(_ => app.PostUsageAsync(Event(user))));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
    }

    public static async Task AssertExactTotalsAsync(AppFixture app, string user, int events)
    {
        var totals = await app.WaitForRequestsAsync(user, events);
        Assert.Equal(events, totals["requests"]);
        Assert.Equal(events * MicrosPerEvent, totals["cost"]);
        var score = await app.MonthScoreAsync(user);
        Assert.Equal(events * MicrosPerEvent, score);
    }
}
