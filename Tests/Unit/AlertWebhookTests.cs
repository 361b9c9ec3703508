using System.Text.Json;
using LlmCostTracker.Contracts;
using LlmCostTracker.Alerts;

namespace LlmCostTracker.Tests.Unit;

/// <summary>The pure parts of alert webhooks: the Standard Webhooks signature, the secret's form, the options'
/// checks, and the payloads.</summary>
public sealed class AlertWebhookUnitTests
{
    [Fact]
    public void The_signature_matches_the_Standard_Webhooks_example()
    {
        // The specification's own example (secret, id, timestamp, body and the signature it gives).
        var key = WebhookSignature.KeyOf("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        Assert.NotNull(key);
        Assert.Equal("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            WebhookSignature.Sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, """{"test": 2432232314}"""));
    }

    [Theory]
    [InlineData("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    [InlineData("whsec_")]
    [InlineData("whsec_not base64!")]
    public void A_secret_that_is_not_whsec_and_base64_has_no_key(string secret) => Assert.Null(WebhookSignature.KeyOf(secret));

    [Fact]
    public void Options_name_each_bad_endpoint_setting()
    {
        var options = new AlertOptions
        {
            Webhooks =
            [
                new WebhookEndpoint { Url = "https://hooks.example.com/a", Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", Events = [AlertTypes.BudgetThresholdCrossed] },
                new WebhookEndpoint { Url = "ftp://example.com", Format = "xml", Secret = "plain", Events = ["budget.spent"] },
            ],
        };
        var problems = options.Problems().ToList();
        Assert.Equal(4, problems.Count);
        Assert.All(problems, p => Assert.StartsWith("Alerts:Webhooks:1:", p, StringComparison.Ordinal));
        Assert.True(options.Webhooks[0].Wants(AlertTypes.BudgetThresholdCrossed));
        Assert.False(options.Webhooks[0].Wants(AlertTypes.TagBudgetThresholdCrossed));
        Assert.True(new WebhookEndpoint().Wants(AlertTypes.TagBudgetThresholdCrossed));
    }

    [Fact]
    public void A_forecast_payload_carries_its_projection_and_no_threshold()
    {
        var forecast = new BudgetForecastExhausted
        {
            UserId = "alice", Month = "2026-12", SpentUsd = 3.1m, BudgetUsd = 6m, DailyRateUsd = 0.68m, DaysEarly = 22.4,
            ProjectedExhaustedAt = new DateTimeOffset(2026, 12, 9, 14, 24, 0, TimeSpan.Zero), OccurredAt = new DateTimeOffset(2026, 12, 5, 9, 0, 0, TimeSpan.Zero),
        };
        var payload = AlertPayload.For(forecast);
        // Once a month: a later forecast of the same month (another rate) is the same alert.
        Assert.Equal(payload.Id, AlertPayload.For(forecast with { DailyRateUsd = 1m }).Id);
        Assert.NotEqual(payload.Id, AlertPayload.For(forecast with { Month = "2027-01" }).Id);

        var root = JsonDocument.Parse(payload.ToJson()).RootElement;
        Assert.Equal("budget.forecast_exhausted", root.GetProperty("type").GetString());
        Assert.False(root.TryGetProperty("thresholdPercent", out _));
        Assert.Equal("2026-12-09T14:24:00+00:00", root.GetProperty("forecast").GetProperty("projectedExhaustedAt").GetString());
        Assert.Equal(0.68m, root.GetProperty("forecast").GetProperty("dailyRateUsd").GetDecimal());
        Assert.Equal(22.4, root.GetProperty("forecast").GetProperty("daysEarly").GetDouble());
        Assert.Equal(
            ":hourglass_flowing_sand: LLM cost: User *alice* is on course to use up the $6.00 budget for 2026-12 on 2026-12-09 14:24 UTC, 22.4 days early ($0.68 a day; $3.10 spent).",
            JsonDocument.Parse(payload.Slack()).RootElement.GetProperty("text").GetString());
    }

    [Fact]
    public void A_tag_values_forecast_is_a_forecast_with_a_tag_subject_and_its_own_id()
    {
        var forecast = new TagBudgetForecastExhausted
        {
            Dimension = "team", Value = "search", Month = "2026-12", SpentUsd = 120m, BudgetUsd = 350m, DailyRateUsd = 30m, DaysEarly = 19.33,
            ProjectedExhaustedAt = new DateTimeOffset(2026, 12, 12, 16, 0, 0, TimeSpan.Zero), OccurredAt = new DateTimeOffset(2026, 12, 5, 9, 0, 0, TimeSpan.Zero),
            TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        };
        var payload = AlertPayload.For(forecast);
        Assert.Equal(payload.Id, AlertPayload.For(forecast with { DailyRateUsd = 31m }).Id);
        // Not the id of another value's forecast, nor of a user whose id looks like the value.
        Assert.NotEqual(payload.Id, AlertPayload.For(forecast with { Value = "ads" }).Id);
        Assert.NotEqual(payload.Id, AlertPayload.For(new BudgetForecastExhausted
        {
            UserId = "search", Month = "2026-12", SpentUsd = 120m, BudgetUsd = 350m, DailyRateUsd = 30m, DaysEarly = 19.33,
            ProjectedExhaustedAt = forecast.ProjectedExhaustedAt, OccurredAt = forecast.OccurredAt,
        }).Id);

        var root = JsonDocument.Parse(payload.ToJson()).RootElement;
        Assert.Equal("budget.forecast_exhausted", root.GetProperty("type").GetString());
        Assert.Equal("tag", root.GetProperty("subject").GetProperty("kind").GetString());
        Assert.Equal("team", root.GetProperty("subject").GetProperty("dimension").GetString());
        Assert.Equal("search", root.GetProperty("subject").GetProperty("value").GetString());
        Assert.False(root.GetProperty("subject").TryGetProperty("userId", out _));
        Assert.Equal(forecast.TraceParent, root.GetProperty("traceParent").GetString());
        Assert.Equal(30m, root.GetProperty("forecast").GetProperty("dailyRateUsd").GetDecimal());
        Assert.Equal(
            ":hourglass_flowing_sand: LLM cost: *team=search* is on course to use up the $350.00 budget for 2026-12 on 2026-12-12 16:00 UTC, 19.3 days early ($30.00 a day; $120.00 spent).",
            JsonDocument.Parse(payload.Slack()).RootElement.GetProperty("text").GetString());
    }

    [Fact]
    public void A_payload_names_its_subject_and_keeps_its_id_for_the_same_alert()
    {
        var crossed = new TagBudgetThresholdCrossed
        {
            Dimension = "team", Value = "search", Month = "2026-12", ThresholdPercent = 80, SpentUsd = 281.5m, BudgetUsd = 350m,
            OccurredAt = new DateTimeOffset(2026, 12, 5, 10, 0, 0, TimeSpan.Zero),
        };
        var payload = AlertPayload.For(crossed);
        Assert.Equal(payload.Id, AlertPayload.For(crossed with { SpentUsd = 290m }).Id);
        Assert.NotEqual(payload.Id, AlertPayload.For(crossed with { ThresholdPercent = 100 }).Id);
        Assert.NotEqual(payload.Id, AlertPayload.For(crossed with { Month = "2027-01" }).Id);

        using var json = JsonDocument.Parse(payload.ToJson());
        var root = json.RootElement;
        Assert.Equal("tag_budget.threshold_crossed", root.GetProperty("type").GetString());
        Assert.Equal("""{"kind":"tag","dimension":"team","value":"search"}""", root.GetProperty("subject").GetRawText());
        Assert.False(root.TryGetProperty("traceParent", out _));
        Assert.Equal(281.5m, root.GetProperty("spentUsd").GetDecimal());

        Assert.Equal("""{"text":":warning: LLM cost: *team=search* reached 80% of the $350.00 budget for 2026-12 ($281.50 spent)."}""", payload.Slack());
    }
}
