using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using LlmCostTracker.Contracts;

namespace LlmCostTracker.Alerts;

/// <summary>An alert as webhooks receive it (<c>json</c> format); <see cref="Slack"/> renders the same alert as a
/// Slack incoming-webhook message.</summary>
/// <param name="ThresholdPercent">The threshold crossed (threshold alerts; absent from a forecast).</param>
/// <param name="Forecast">The projection (<c>budget.forecast_exhausted</c> only).</param>
public sealed record AlertPayload(
    string Type, string Id, string Month, AlertSubject Subject, int? ThresholdPercent, decimal SpentUsd, decimal BudgetUsd,
    DateTimeOffset OccurredAt, string? TraceParent, bool? Test = null, AlertForecast? Forecast = null)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public static AlertPayload For(BudgetThresholdCrossed alert) => new(
        AlertTypes.BudgetThresholdCrossed, IdOf(AlertTypes.BudgetThresholdCrossed, $"user|{alert.UserId}", alert.Month, alert.ThresholdPercent),
        alert.Month, new AlertSubject("user", alert.UserId, null, null), alert.ThresholdPercent, alert.SpentUsd, alert.BudgetUsd,
        alert.OccurredAt, alert.TraceParent);

    public static AlertPayload For(TagBudgetThresholdCrossed alert) => new(
        AlertTypes.TagBudgetThresholdCrossed, IdOf(AlertTypes.TagBudgetThresholdCrossed, $"tag|{alert.Dimension}|{alert.Value}", alert.Month, alert.ThresholdPercent),
        alert.Month, new AlertSubject("tag", null, alert.Dimension, alert.Value), alert.ThresholdPercent, alert.SpentUsd, alert.BudgetUsd,
        alert.OccurredAt, null);

    public static AlertPayload For(BudgetForecastExhausted alert) => ForecastPayload(
        $"user|{alert.UserId}", new AlertSubject("user", alert.UserId, null, null), alert.Month, alert.SpentUsd, alert.BudgetUsd, alert.OccurredAt,
        alert.TraceParent, new AlertForecast(alert.ProjectedExhaustedAt, alert.DailyRateUsd, alert.DaysEarly));

    /// <summary>A tag value's forecast: the same type as a user's (<c>budget.forecast_exhausted</c>), told apart by its
    /// <c>tag</c> subject, so an endpoint that wants forecasts gets both.</summary>
    public static AlertPayload For(TagBudgetForecastExhausted alert) => ForecastPayload(
        $"tag|{alert.Dimension}|{alert.Value}", new AlertSubject("tag", null, alert.Dimension, alert.Value), alert.Month, alert.SpentUsd, alert.BudgetUsd,
        alert.OccurredAt, alert.TraceParent, new AlertForecast(alert.ProjectedExhaustedAt, alert.DailyRateUsd, alert.DaysEarly));

    /// <summary>A forecast alert, once a month per subject: its id has no threshold (0).</summary>
    private static AlertPayload ForecastPayload(
        string subjectKey, AlertSubject subject, string month, decimal spentUsd, decimal budgetUsd, DateTimeOffset occurredAt, string? traceParent,
        AlertForecast forecast) => new(
        AlertTypes.BudgetForecastExhausted, IdOf(AlertTypes.BudgetForecastExhausted, subjectKey, month, 0), month, subject, null, spentUsd, budgetUsd,
        occurredAt, traceParent, Forecast: forecast);

    /// <summary>A made-up alert of <paramref name="type"/> for a test send (<c>"test": true</c>): a user or tag value
    /// called <c>webhook-test</c> past a threshold, with its own <c>webhook-id</c> each time, so a receiver that drops
    /// repeated ids still shows every test.</summary>
    public static AlertPayload Sample(string type, DateTimeOffset now, string? traceParent)
    {
        var subject = type == AlertTypes.TagBudgetThresholdCrossed
            ? new AlertSubject("tag", null, "team", "webhook-test")
            : new AlertSubject("user", "webhook-test", null, null);
        var id = $"msg_test_{Guid.NewGuid():N}";
        return type == AlertTypes.BudgetForecastExhausted
            ? new AlertPayload(type, id, UsageMonth.Of(now).Key, subject, null, 60m, 100m, now, traceParent, Test: true,
                Forecast: new AlertForecast(now.AddDays(3), 20m, 10))
            : new AlertPayload(type, id, UsageMonth.Of(now).Key, subject, 80, 80m, 100m, now, traceParent, Test: true);
    }

    /// <summary>The alert's <c>webhook-id</c>: from what the alert is about, so it is the same for every attempt and
    /// every endpoint, and for a replayed or re-published copy of the same alert (which fires once per subject, month
    /// and threshold).</summary>
    private static string IdOf(string type, string subject, string month, int threshold) =>
        "msg_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{type}|{subject}|{month}|{threshold}")))[..32];

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>A Slack incoming-webhook message (<c>text</c>, mrkdwn).</summary>
    public string Slack()
    {
        var who = Subject.Kind == "user" ? $"User *{Subject.UserId}*" : $"*{Subject.Dimension}={Subject.Value}*";
        var test = Test == true ? "[test] " : "";
        var text = Forecast is { } forecast
            ? string.Create(CultureInfo.InvariantCulture,
                $"{test}:hourglass_flowing_sand: LLM cost: {who} is on course to use up the ${BudgetUsd:N2} budget for {Month} on {forecast.ProjectedExhaustedAt:yyyy-MM-dd HH:mm} UTC, {forecast.DaysEarly:0.#} days early (${forecast.DailyRateUsd:N2} a day; ${SpentUsd:N2} spent).")
            : string.Create(CultureInfo.InvariantCulture,
                $"{test}{(ThresholdPercent >= 100 ? ":rotating_light: " : ":warning: ")}LLM cost: {who} reached {ThresholdPercent}% of the ${BudgetUsd:N2} budget for {Month} (${SpentUsd:N2} spent).");
        return JsonSerializer.Serialize(new SlackMessage(text), Json);
    }

    private sealed record SlackMessage(string Text);
}

/// <summary>Who an alert is about: a user (<c>kind</c> <c>user</c>, <c>userId</c>) or a tag value (<c>kind</c>
/// <c>tag</c>, <c>dimension</c>, <c>value</c>).</summary>
public sealed record AlertSubject(string Kind, string? UserId, string? Dimension, string? Value);

/// <summary>A forecast's projection: when the budget runs out at the daily rate of the forecast window, and how many
/// days before the month's end that is.</summary>
public sealed record AlertForecast(DateTimeOffset ProjectedExhaustedAt, decimal DailyRateUsd, double DaysEarly);
