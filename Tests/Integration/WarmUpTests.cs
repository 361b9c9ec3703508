using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using LlmCostTracker.ApiService.Otlp;
using LlmCostTracker.ApiService.WarmUp;

namespace LlmCostTracker.Tests.Integration;

/// <summary>The API's start-up warm-up (<see cref="StartupWarmUp"/>): it ran before the API reported ready, and
/// nothing of it was recorded or traced.</summary>
[Collection(AppCollection.Name)]
public sealed partial class WarmUpTests(AppFixture app)
{
    [Fact]
    public async Task The_API_warmed_its_ingestion_up_before_it_was_ready_and_nothing_of_it_was_counted_or_traced()
    {
        // The fixture waited for the API to be healthy, which it is only once the warm-up has ended. Other tests of the
        // collection restart the API, and each start warms up again: the last summary is one warm-up's.
        var (lines, complete) = await app.LogLinesAsync("apiservice");
        Assert.True(complete, "the API's logs were read whole");
        var summary = lines.Select(line => WarmUpLine().Match(line)).LastOrDefault(m => m.Success);
        Assert.True(summary is not null, $"the API logged its warm-up:\n{string.Join('\n', lines.Where(l => l.Contains("arm-up", StringComparison.Ordinal)))}");
        var requests = int.Parse(summary.Groups["requests"].Value, CultureInfo.InvariantCulture);
        Assert.InRange(requests, 100, 1_000_000);
        // And to the dashboard (OTLP): the client's requests are sent in OpenTelemetry's suppression scope, which also
        // drops logs, and the summary was once logged inside it.
        // Eventually fails the test when the line has not arrived within its bound.
        await Eventually.ReturnsAsync(
            () => Task.FromResult(app.Telemetry!.Logs.LastOrDefault(l => WarmUpLine().IsMatch(l))),
            exported => exported is not null, because: "the warm-up's summary reached the OTLP logs");

        // Its events were validated and answered, never published: the ledger has nothing of its user.
        Assert.Empty(await app.UserTotalsAsync(StartupWarmUp.UserId));

        // One request in ten is an OTLP export; recorded, they would outnumber every export the tests send.
        var exports = requests / 10;
        var spans = app.Telemetry!.Spans;
        var traced = spans.Count(s => s.Name == $"POST {OtlpHttpApi.Route}");
        Assert.True(traced < exports, $"{traced} export requests traced, against the warm-up's {exports}");
        // Nor the client's side: an HTTP client span is named by its method alone.
        var sent = spans.Count(s => s.Name == "POST");
        Assert.True(sent < exports, $"{sent} HTTP client POSTs traced, against the warm-up's {requests} requests");
    }

    [Fact]
    public async Task A_warm_up_header_without_this_process_token_changes_nothing()
    {
        var user = AppFixture.NewUser("warm-up-forged");
        using var request = app.Ingest("/api/v1/llm-usage", new { userId = user, model = "gpt-4o", inputTokens = 1_000, outputTokens = 100 });
        request.Headers.Add(StartupWarmUp.Header, new string('0', 64));
        using var response = await app.Api.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);

        var totals = await app.WaitForRequestsAsync(user, 1);
        Assert.Equal(1, totals["requests"]);
    }

    [GeneratedRegex(@"Warm-up: (?<requests>\d+) requests in")]
    private static partial Regex WarmUpLine();
}
