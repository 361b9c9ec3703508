using LlmCostTracker.Contracts.Reporting;
using LlmCostTracker.ApiService.Ingestion;
using LlmCostTracker.ApiService.Reporting;
using LlmCostTracker.Contracts;
using MassTransit;
using LlmCostTracker.Ledger;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmCostTracker.ApiService.Budgets;

/// <summary>Per-user monthly budget overrides. A change is stored first, then announced to the worker, which
/// re-arms or fires the user's thresholds for the current month in one atomic step with the ledger.</summary>
public sealed class BudgetStore(IConnectionMultiplexer redis, LedgerKeys keys, IBus bus, IOptions<BudgetOptions> budgets, IOptions<IngestOptions> ingest, BrokerWaitLimit limit, TimeProvider clock)
{
    public const decimal MaxBudgetUsd = 1_000_000_000m;

    public async Task<UserBudget> GetAsync(string userId)
    {
        var db = redis.GetDatabase();
        var value = db.StringGetAsync(keys.UserBudget(userId));
        var enforce = db.StringGetAsync(keys.UserEnforce(userId));
        var own = db.StringGetAsync(keys.UserThresholds(userId));
        using (RedisSpans.Start("GET", 3))
        {
            await Task.WhenAll(value, enforce, own);
        }

        var enforced = (await enforce).HasValue ? (await enforce) == "1" : budgets.Value.Enforce;
        var thresholds = BudgetOptions.ParseThresholds(await own) ?? budgets.Value.ThresholdsPercent;
        return (await value).HasValue
            ? new UserBudget(userId, BudgetOptions.ToUsd((long)await value), IsDefault: false, enforced, thresholds)
            : new UserBudget(userId, budgets.Value.DefaultMonthlyBudgetUsd, IsDefault: true, enforced, thresholds);
    }

    /// <summary>Sets the amount and, when given, the enforcement and the thresholds (left out: unchanged).</summary>
    public async Task<UserBudget> SetAsync(string userId, decimal monthlyBudgetUsd, bool? enforce, int[]? thresholds, CancellationToken ct)
    {
        var db = redis.GetDatabase();
        var change = db.CreateTransaction();
        _ = change.StringSetAsync(keys.UserBudget(userId), BudgetOptions.ToMicros(monthlyBudgetUsd));
        if (enforce is { } on)
        {
            _ = change.StringSetAsync(keys.UserEnforce(userId), on ? "1" : "0");
        }

        if (thresholds is not null)
        {
            _ = change.StringSetAsync(keys.UserThresholds(userId), BudgetOptions.ThresholdsText(thresholds));
        }

        using (RedisSpans.Start("MULTI", 1 + (enforce is null ? 0 : 1) + (thresholds is null ? 0 : 1)))
        {
            await change.ExecuteAsync();
        }

        await AnnounceAsync(userId, ct);
        return await GetAsync(userId);
    }

    /// <summary>Back to the defaults: <c>Budgets:DefaultMonthlyBudgetUsd</c>, <c>Budgets:Enforce</c> and the configured
    /// thresholds.</summary>
    public async Task<UserBudget> ResetAsync(string userId, CancellationToken ct)
    {
        using (RedisSpans.Start("DEL"))
        {
            await redis.GetDatabase().KeyDeleteAsync([keys.UserBudget(userId), keys.UserEnforce(userId), keys.UserThresholds(userId)]);
        }

        await AnnounceAsync(userId, ct);
        return new UserBudget(userId, budgets.Value.DefaultMonthlyBudgetUsd, IsDefault: true, budgets.Value.Enforce, budgets.Value.ThresholdsPercent);
    }

    /// <summary>Asks the worker to re-evaluate the user's thresholds for this month (after a budget change or a re-price).</summary>
    public async Task AnnounceAsync(string userId, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct, limit.Stopped);
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
