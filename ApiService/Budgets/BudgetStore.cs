using LlmCostTracker.ApiService.Ingestion;
using LlmCostTracker.ApiService.Reporting;
using LlmCostTracker.Contracts;
using LlmCostTracker.Contracts.Reporting;
using LlmCostTracker.Ledger.Budgets;
using MassTransit;
using Microsoft.Extensions.Options;

namespace LlmCostTracker.ApiService.Budgets;

/// <summary>Per-user monthly budget overrides. A change is stored first, then announced to the worker, which
/// re-arms or fires the user's thresholds for the current month in one atomic step with the ledger.</summary>
public sealed class BudgetStore(UserBudgets stored, IBus bus, IOptions<IngestOptions> ingest, BrokerWaitLimit limit, TimeProvider clock)
{
    public const decimal MaxBudgetUsd = 1_000_000_000m;

    public Task<UserBudget> GetAsync(string userId) => stored.GetAsync(userId);

    /// <summary>Sets the amount and, when given, the enforcement and the thresholds (left out: unchanged).</summary>
    public async Task<UserBudget> SetAsync(string userId, decimal monthlyBudgetUsd, bool? enforce, int[]? thresholds, CancellationToken ct)
    {
        await stored.SetAsync(userId, monthlyBudgetUsd, enforce, thresholds);
        await AnnounceAsync(userId, ct);
        return await stored.GetAsync(userId);
    }

    /// <summary>Back to the defaults: <c>Budgets:DefaultMonthlyBudgetUsd</c>, <c>Budgets:Enforce</c> and the configured
    /// thresholds.</summary>
    public async Task<UserBudget> ResetAsync(string userId, CancellationToken ct)
    {
        var defaults = await stored.ResetAsync(userId);
        await AnnounceAsync(userId, ct);
        return defaults;
    }

    /// <summary>Asks the worker to re-evaluate the user's thresholds for this month (after a budget change or a re-price).</summary>
    public async Task AnnounceAsync(string userId, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct, limit.Stopped);
        timeout.CancelAfter(ingest.Value.PublishTimeout);
        try
        {
            await bus.Publish(new UserBudgetChanged { UserId = userId, Month = UsageMonth.Of(clock.GetUtcNow()).Key }, timeout.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or MassTransitException && !ct.IsCancellationRequested)
        {
            throw new BrokerUnavailableException("The broker did not confirm the budget change; it is stored, retry to re-evaluate alerts.", ex);
        }
    }
}
