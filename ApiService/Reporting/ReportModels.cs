namespace LlmCostTracker.ApiService.Reporting;

public sealed record CostReport(string Month, string Currency, DateTimeOffset GeneratedAt, ReportTotals Totals, IReadOnlyList<UserCostRow> Users);

public sealed record ReportTotals(
    decimal CostUsd, long InputTokens, long CachedInputTokens, long OutputTokens, long Requests, long UserCount, decimal ProjectedMonthEndCostUsd,
    long CacheWriteInputTokens, long ReasoningOutputTokens);

public sealed record ModelCostRow(
    string Model, decimal CostUsd, long InputTokens, long CachedInputTokens, long OutputTokens, long Requests, long CacheWriteInputTokens, long ReasoningOutputTokens);

public sealed record UserCostRow(
    string UserId,
    decimal CostUsd,
    long InputTokens,
    long CachedInputTokens,
    long OutputTokens,
    long Requests,
    decimal BudgetUsd,
    decimal? BudgetUsedPercent,
    decimal ProjectedMonthEndCostUsd,
    DateTimeOffset? ProjectedBudgetExhaustedAt,
    IReadOnlyList<ModelCostRow> Models,
    long CacheWriteInputTokens,
    long ReasoningOutputTokens,
    bool BudgetExhausted);

public sealed record DailyCost(string Date, decimal CostUsd);

public sealed record UserCostDetail(
    string Month,
    string Currency,
    DateTimeOffset GeneratedAt,
    string UserId,
    decimal CostUsd,
    long InputTokens,
    long CachedInputTokens,
    long OutputTokens,
    long Requests,
    decimal BudgetUsd,
    decimal? BudgetUsedPercent,
    decimal ProjectedMonthEndCostUsd,
    DateTimeOffset? ProjectedBudgetExhaustedAt,
    IReadOnlyList<ModelCostRow> Models,
    IReadOnlyList<DailyCost> Daily,
    long CacheWriteInputTokens,
    long ReasoningOutputTokens,
    bool BudgetExhausted);

public sealed record UserBudget(string UserId, decimal MonthlyBudgetUsd, bool IsDefault);

public sealed record SetBudgetRequest(decimal? MonthlyBudgetUsd);
