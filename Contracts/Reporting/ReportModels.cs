namespace LlmCostTracker.Contracts.Reporting;

/// <summary>A month: totals, the top users, and (over every user) the spend per model and per day.</summary>
public sealed record CostReport(
    string Month, string Currency, DateTimeOffset GeneratedAt, ReportTotals Totals, IReadOnlyList<UserCostRow> Users, IReadOnlyList<ModelCostRow> Models,
    IReadOnlyList<DailyCost> Daily);

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
    bool BudgetExhausted,
    decimal HeldUsd);

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
    bool BudgetExhausted,
    decimal HeldUsd,
    BudgetForecast? Forecast = null);

/// <summary>The month's burn-rate forecast alert (<c>budget.forecast_exhausted</c>), once it was sent: when, and when
/// the budget was then projected to run out.</summary>
public sealed record BudgetForecast(DateTimeOffset AlertedAt, DateTimeOffset ProjectedExhaustedAt);

/// <summary>A user's budget; <see cref="Enforce"/>: budget holds past it are refused (402), the user's own setting or
/// <c>Budgets:Enforce</c>; <see cref="Thresholds"/>: the percentages of it that alert, the user's own or
/// <c>Budgets:ThresholdsPercent</c>.</summary>
public sealed record UserBudget(string UserId, decimal MonthlyBudgetUsd, bool IsDefault, bool Enforce, IReadOnlyList<int> Thresholds);

/// <summary><see cref="Enforce"/> and <see cref="Thresholds"/> left out keep the user's current settings (a client
/// that only sets amounts never turns enforcement or its alerts off by accident); <c>thresholds: []</c> turns the
/// user's threshold alerts off.</summary>
public sealed record SetBudgetRequest(decimal? MonthlyBudgetUsd, bool? Enforce = null, int[]? Thresholds = null);

/// <summary>A dimension's month (e.g. by team): its values ordered by cost, highest first.</summary>
public sealed record TagCostReport(
    string Month, string Currency, DateTimeOffset GeneratedAt, string Dimension, TagReportTotals Totals, IReadOnlyList<TagCostRow> Values);

/// <summary>Over every value of the dimension: the cost of the month's usage that carried the dimension.</summary>
public sealed record TagReportTotals(decimal CostUsd, long ValueCount, decimal ProjectedMonthEndCostUsd);

/// <summary>One tag value's month. <see cref="BudgetUsd"/> is null without a budget for the value.</summary>
public sealed record TagCostRow(
    string Value,
    decimal CostUsd,
    long InputTokens,
    long CachedInputTokens,
    long OutputTokens,
    long Requests,
    long CacheWriteInputTokens,
    long ReasoningOutputTokens,
    decimal? BudgetUsd,
    decimal? BudgetUsedPercent,
    bool BudgetExhausted,
    decimal ProjectedMonthEndCostUsd,
    DateTimeOffset? ProjectedBudgetExhaustedAt,
    IReadOnlyList<ModelCostRow> Models);

/// <summary>One tag value's month with its daily series and its top users.</summary>
public sealed record TagCostDetail(
    string Month,
    string Currency,
    DateTimeOffset GeneratedAt,
    string Dimension,
    string Value,
    decimal CostUsd,
    long InputTokens,
    long CachedInputTokens,
    long OutputTokens,
    long Requests,
    long CacheWriteInputTokens,
    long ReasoningOutputTokens,
    decimal? BudgetUsd,
    decimal? BudgetUsedPercent,
    bool BudgetExhausted,
    decimal ProjectedMonthEndCostUsd,
    DateTimeOffset? ProjectedBudgetExhaustedAt,
    IReadOnlyList<ModelCostRow> Models,
    IReadOnlyList<DailyCost> Daily,
    IReadOnlyList<TagUserCost> Users,
    BudgetForecast? Forecast = null);

public sealed record TagUserCost(string UserId, decimal CostUsd);

/// <summary>A tag value's monthly budget; <see cref="MonthlyBudgetUsd"/> null: none (tag values have no default);
/// <see cref="Thresholds"/>: the percentages of it that alert, its own or <c>Budgets:ThresholdsPercent</c>.</summary>
public sealed record TagBudget(string Dimension, string Value, decimal? MonthlyBudgetUsd, IReadOnlyList<int> Thresholds);

/// <summary><see cref="Thresholds"/> left out keeps the value's current ones.</summary>
public sealed record SetTagBudgetRequest(decimal? MonthlyBudgetUsd, int[]? Thresholds = null);
