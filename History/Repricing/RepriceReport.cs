using LlmCostTracker.Contracts;
using LlmCostTracker.Ledger;

namespace LlmCostTracker.History.Repricing;

/// <summary>A re-price's request: the days (inclusive), the model ids (null or empty: every model) and whether to
/// only report the difference.</summary>
public sealed record RepriceRequest(DateOnly From, DateOnly To, IReadOnlyList<string>? Models, bool DryRun);

/// <summary>The prices a re-price used: the pricing version counter and the catalog version in force.</summary>
public sealed record RepriceVersions(long Pricing, long Catalog);

public sealed record RepriceModelChange(string Model, long RowsChanged, decimal CostBeforeUsd, decimal CostAfterUsd, decimal DeltaUsd);

public sealed record RepriceUserChange(string UserId, decimal CostBeforeUsd, decimal CostAfterUsd, decimal DeltaUsd);

public sealed record RepriceSkippedDay(DateOnly Day, string Model, DateTimeOffset PriceChangedAt);

/// <summary>What a re-price found (a dry run) or did. Costs are of the changed rows only, in USD; <see cref="Users"/>
/// lists the <c>History:RepriceUsersListed</c> users with the largest changes of <see cref="UsersChanged"/>.</summary>
public sealed record RepriceResult(
    long? RunId, bool DryRun, DateOnly From, DateOnly To, IReadOnlyList<string>? Models, long PricingVersion, long CatalogVersion,
    long RowsExamined, long RowsChanged, long RowsSkipped, decimal CostBeforeUsd, decimal CostAfterUsd, decimal DeltaUsd,
    IReadOnlyList<RepriceModelChange> ByModel, long UsersChanged, IReadOnlyList<RepriceUserChange> ByUser, IReadOnlyList<RepriceSkippedDay> Skipped,
    long LedgerCorrections, bool? ThresholdsReevaluated)
{
    internal static decimal Usd(long micros) => BudgetOptions.ToUsd(micros);

    /// <summary>Each user's change over the changed rows (unordered).</summary>
    internal static IEnumerable<RepriceUserChange> UserChanges(RepricePlan plan) =>
        plan.Changes.GroupBy(c => c.Key.UserId, StringComparer.Ordinal)
            .Select(g => (User: g.Key, Before: g.Sum(c => c.Before), After: g.Sum(c => c.After)))
            .Select(u => new RepriceUserChange(u.User, Usd(u.Before), Usd(u.After), Usd(u.After - u.Before)));

    internal static RepriceResult Of(RepriceRequest request, RepriceVersions versions, RepricePlan plan, long? runId, long ledgerCorrections, int listed)
    {
        var before = plan.Changes.Sum(c => c.Before);
        var after = plan.Changes.Sum(c => c.After);
        var byModel = plan.Changes.GroupBy(c => c.Key.Model, StringComparer.Ordinal)
            .Select(g => (Model: g.Key, Rows: g.LongCount(), Before: g.Sum(c => c.Before), After: g.Sum(c => c.After)))
            .OrderByDescending(m => Math.Abs(m.After - m.Before)).ThenBy(m => m.Model, StringComparer.Ordinal)
            .Select(m => new RepriceModelChange(m.Model, m.Rows, Usd(m.Before), Usd(m.After), Usd(m.After - m.Before)))
            .ToList();
        var byUser = UserChanges(plan).OrderByDescending(u => Math.Abs(u.DeltaUsd)).ThenBy(u => u.UserId, StringComparer.Ordinal).ToList();
        var skipped = plan.Skips.Distinct().OrderBy(s => s.Day).ThenBy(s => s.Model, StringComparer.Ordinal).Take(listed)
            .Select(s => new RepriceSkippedDay(s.Day, s.Model, s.PriceChangedAt)).ToList();
        return new RepriceResult(
            runId, request.DryRun, request.From, request.To, request.Models is { Count: > 0 } ? request.Models : null, versions.Pricing, versions.Catalog,
            plan.RowsExamined, plan.Changes.Count, plan.Skips.Count, Usd(before), Usd(after), Usd(after - before),
            byModel, byUser.Count, [.. byUser.Take(listed)],
            skipped, ledgerCorrections, ThresholdsReevaluated: null);
    }
}

/// <summary>An applied re-price as its audit record keeps it.</summary>
public sealed record RepriceRun(
    long Id, DateTimeOffset At, string Actor, DateOnly From, DateOnly To, IReadOnlyList<string>? Models, long PricingVersion, long CatalogVersion,
    long RowsExamined, long RowsChanged, decimal CostBeforeUsd, decimal CostAfterUsd, decimal DeltaUsd,
    IReadOnlyList<RepriceModelChange> ByModel, IReadOnlyList<RepriceUserChange> ByUser, DateTimeOffset? LedgerAppliedAt);

/// <summary>The re-price could not start in time: the workers do not all price with the current prices yet, or the
/// rollups have not caught up with the ledger (a re-price must see every row priced before it).</summary>
public sealed class RepriceNotReadyException(string message) : Exception(message);
