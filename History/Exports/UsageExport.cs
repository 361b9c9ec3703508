using System.Globalization;
using System.Text;
using System.Text.Json;
using LlmCostTracker.History.Reports;

namespace LlmCostTracker.History.Exports;

/// <summary>The export formats of the daily usage rows, written row by row as they are read.</summary>
public static class UsageExport
{
    public const string Csv = "csv";
    public const string Focus = "focus";

    public static readonly string[] Formats = [Csv, Focus];

    /// <summary>One row per (day, user, model, provider, tier, band): every counter, and the cost in decimal USD.</summary>
    public static readonly string[] CsvColumns =
    [
        "day", "userId", "model", "provider", "serviceTier", "contextBand", "requests", "inputTokens", "cachedInputTokens", "cacheWriteInputTokens",
        "cacheWrite1hInputTokens", "audioInputTokens", "outputTokens", "reasoningOutputTokens", "audioOutputTokens", "costUsd",
    ];

    /// <summary>The FinOps FOCUS 1.2 columns that apply to LLM usage (costs are what the price lists in force said,
    /// so billed, effective, list and contracted cost are the same), then this product's own counters as FOCUS
    /// custom columns (<c>x_</c>).</summary>
    public static readonly string[] FocusColumns =
    [
        "BilledCost", "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd", "ChargeCategory", "ChargeDescription", "ChargeFrequency",
        "ChargePeriodStart", "ChargePeriodEnd", "ConsumedQuantity", "ConsumedUnit", "ContractedCost", "EffectiveCost", "ListCost", "PricingCategory",
        "ProviderName", "PublisherName", "ResourceId", "ResourceName", "ResourceType", "ServiceCategory", "ServiceName", "SubAccountId", "SubAccountName",
        "Tags", "x_Requests", "x_InputTokens", "x_CachedInputTokens", "x_CacheWriteInputTokens", "x_CacheWrite1hInputTokens", "x_AudioInputTokens",
        "x_OutputTokens", "x_ReasoningOutputTokens", "x_AudioOutputTokens", "x_ServiceTier", "x_ContextBand",
    ];

    public static string Header(string format) => string.Join(',', format == Focus ? FocusColumns : CsvColumns) + "\r\n";

    public static string Line(string format, UsageExportRow row) => format == Focus ? FocusLine(row) : CsvLine(row);

    private static string CsvLine(UsageExportRow r) => Join(
        HistoryDays.Format(r.Day), r.UserId, r.Model, r.Provider, r.ServiceTier, N(r.ContextBand), N(r.Requests), N(r.InputTokens), N(r.CachedInputTokens),
        N(r.CacheWriteInputTokens), N(r.CacheWrite1hInputTokens), N(r.AudioInputTokens), N(r.OutputTokens), N(r.ReasoningOutputTokens),
        N(r.AudioOutputTokens), Usd(r.CostMicros));

    private static string FocusLine(UsageExportRow r)
    {
        var cost = Usd(r.CostMicros);
        var monthStart = new DateOnly(r.Day.Year, r.Day.Month, 1);
        var provider = r.Provider.Length > 0 ? r.Provider : "unknown";
        var tokens = r.InputTokens + r.OutputTokens;
        var tags = JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["llmcost/serviceTier"] = r.ServiceTier,
            ["llmcost/contextBand"] = N(r.ContextBand),
        });
        return Join(
            cost, "USD", Instant(monthStart), Instant(monthStart.AddMonths(1)), "Usage",
            $"{r.Model} tokens ({r.ServiceTier})", "Usage-Based", Instant(r.Day), Instant(r.Day.AddDays(1)), N(tokens), "Tokens",
            cost, cost, cost, "Standard", provider, provider, r.Model, r.Model, "LLM model", "AI and Machine Learning", $"{provider} LLM API",
            r.UserId, r.UserId, tags, N(r.Requests), N(r.InputTokens), N(r.CachedInputTokens), N(r.CacheWriteInputTokens),
            N(r.CacheWrite1hInputTokens), N(r.AudioInputTokens), N(r.OutputTokens), N(r.ReasoningOutputTokens), N(r.AudioOutputTokens),
            r.ServiceTier, N(r.ContextBand));
    }

    /// <summary>Decimal USD from micro-USD, exactly (six decimals).</summary>
    public static string Usd(long micros) => (micros / 1_000_000m).ToString("0.000000", CultureInfo.InvariantCulture);

    private static string Instant(DateOnly day) => HistoryDays.Format(day) + "T00:00:00Z";

    private static string N(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled.</summary>
    private static string Join(params string[] fields)
    {
        var line = new StringBuilder(256);
        for (var i = 0; i < fields.Length; i++)
        {
            if (i > 0)
            {
                line.Append(',');
            }

            var field = fields[i];
            if (field.AsSpan().IndexOfAny(",\"\r\n") >= 0)
            {
                line.Append('"').Append(field.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
            }
            else
            {
                line.Append(field);
            }
        }

        return line.Append("\r\n").ToString();
    }
}
