using LlmCostTracker.ApiService.Ingestion;
using LlmCostTracker.ApiService.Reporting;
using LlmCostTracker.Contracts;
using MassTransit;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmCostTracker.ApiService.Budgets;

/// <summary>Per-user monthly budget overrides. A change is stored first, then announced to the worker, which
/// re-arms or fires the user's thresholds for the current month in one atomic step with the ledger.</summary>
public sealed class BudgetStore(IConnectionMultiplexer redis, LedgerKeys keys, IBus bus, IOptions<BudgetOptions> budgets, IOptions<IngestOptions> ingest, TimeProvider clock)
{
    public const decimal MaxBudgetUsd = 1_000_000_000m;

    public async Task<UserBudget> GetAsync(string userId)
    {
        var value = await redis.GetDatabase().StringGetAsync(keys.UserBudget(userId));
        return value.HasValue
            ? new UserBudget(userId, BudgetOptions.ToUsd((long)value), IsDefault: false)
            : new UserBudget(userId, budgets.Value.DefaultMonthlyBudgetUsd, IsDefault: true);
    }

    public async Task<UserBudget> SetAsync(string userId, decimal monthlyBudgetUsd, CancellationToken ct)
    {
        await redis.GetDatabase().StringSetAsync(keys.UserBudget(userId), BudgetOptions.ToMicros(monthlyBudgetUsd));
        await AnnounceAsync(userId, ct);
        return new UserBudget(userId, monthlyBudgetUsd, IsDefault: false);
    }

    public async Task<UserBudget> ResetAsync(string userId, CancellationToken ct)
    {
        await redis.GetDatabase().KeyDeleteAsync(keys.UserBudget(userId));
        await AnnounceAsync(userId, ct);
        return new UserBudget(userId, budgets.Value.DefaultMonthlyBudgetUsd, IsDefault: true);
    }

    private async Task AnnounceAsync(string userId, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(ingest.Value.PublishTimeout);
        try
        {
            await bus.Publish(new UserBudgetChanged { UserId = userId, Month = LedgerMonth.Of(clock.GetUtcNow()).Key }, timeout.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or MassTransitException && !ct.IsCancellationRequested)
        {
            throw new BrokerUnavailableException("The broker did not confirm the budget change; it is stored, retry to re-evaluate alerts.", ex);
        }
    }
}
