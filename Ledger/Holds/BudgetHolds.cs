using LlmCostTracker.Contracts;
using LlmCostTracker.Pricing;
using LlmCostTracker.Ledger.Pricing;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmCostTracker.Ledger.Holds;

/// <summary>What a hold request came to.</summary>
public abstract record HoldOutcome
{
    /// <summary>Granted now (<see cref="IsNew"/>), or found: the same holdId was granted before.</summary>
    public sealed record Held(BudgetHold Hold, bool IsNew) : HoldOutcome;

    /// <summary>Refused: the user's budget is enforced and the hold does not fit.</summary>
    public sealed record Refused(string UserId, decimal RequestedUsd, decimal RemainingUsd, decimal BudgetUsd) : HoldOutcome;

    /// <summary>The holdId is held by another user.</summary>
    public sealed record Conflict(string HoldId) : HoldOutcome;
}

/// <summary>Budget holds: the worst-case cost of a call reserved against the user's month before it is made, in one
/// atomic script in the user's ledger bucket (spent + held + this ≤ budget, so concurrent requests on any number of
/// API replicas cannot over-admit), settled by the worker when the call's usage event arrives with the holdId, or
/// released, or expired.</summary>
public sealed class BudgetHolds(IConnectionMultiplexer redis, LedgerKeys keys, PriceBookSource prices, IOptions<BudgetOptions> budgets, TimeProvider clock)
{
    /// <summary>The worst case: every input token uncached, every allowed output token (at the reasoning price where
    /// that is higher), at the price in force now. A prompt written to a provider's cache costs more than plain input
    /// (Anthropic: ×1.25), so such a call can settle above its hold: the hold bounds what is admitted, the event's
    /// real cost is what is counted.</summary>
    public long WorstCaseMicros(ValidHoldRequest request, DateTimeOffset now)
    {
        var rates = prices.Current.Quote(request.Model, request.Provider, request.ServiceTier, request.InputTokens, now).Rates;
        var output = request.MaxOutputTokens;
        return PriceBook.CostMicros(rates, request.InputTokens, cached: 0, cacheWrite: 0, output, reasoning: rates.Reasoning > rates.Output ? output : 0);
    }

    public async Task<HoldOutcome> HoldAsync(ValidHoldRequest request)
    {
        var db = redis.GetDatabase();
        var now = clock.GetUtcNow();
        var expiresAt = now + request.Ttl;
        var options = budgets.Value;
        var amount = WorstCaseMicros(request, now);
        var call = BudgetHoldCall.Hold(keys, request.UserId, UsageMonth.Of(now).Key, request.HoldId, amount, expiresAt,
            options.DefaultMonthlyBudgetMicros, options.Enforce, now);
        // The holdId's owner, so a DELETE (which names only the holdId) finds the user, and no two users share a
        // holdId. It lives in the holdId's bucket, not the user's, so it cannot be set in the script: it is sent
        // with it instead of before it (one round trip on the caller's hot path, not two), and a grant under an
        // id another user holds is taken back.
        RedisValue owner;
        BudgetHoldCall.HoldReply reply;
        using (RedisSpans.Start("SET EVALSHA", 2))
        {
            var ownerTask = db.StringSetAndGetAsync(keys.HoldOwner(request.HoldId), request.UserId, expiry: request.Ttl, when: When.NotExists);
            var replyTask = BudgetHoldCall.RunAsync(db, call);
            await Task.WhenAll(ownerTask, replyTask);
            owner = await ownerTask;
            reply = BudgetHoldCall.DecodeHold(await replyTask);
        }

        if (owner.HasValue && owner != request.UserId)
        {
            if (reply.Outcome == BudgetHoldCall.Granted)
            {
                using var span = RedisSpans.Start("EVALSHA");
                await BudgetHoldCall.RunAsync(db, BudgetHoldCall.Release(keys, request.UserId, request.HoldId, now));
            }

            return new HoldOutcome.Conflict(request.HoldId);
        }

        if (reply.Outcome == BudgetHoldCall.Refused)
        {
            return new HoldOutcome.Refused(request.UserId, BudgetOptions.ToUsd(amount), Left(reply.BudgetMicros, reply.SpentMicros, reply.HeldMicros),
                BudgetOptions.ToUsd(reply.BudgetMicros));
        }

        return new HoldOutcome.Held(
            new BudgetHold(request.HoldId, request.UserId, BudgetOptions.ToUsd(reply.AmountMicros), reply.BudgetMicros == 0 && !reply.Enforced ? null : Left(reply.BudgetMicros, reply.SpentMicros, reply.HeldMicros),
                reply.ExpiresAt, reply.State, reply.Enforced),
            IsNew: reply.Outcome == BudgetHoldCall.Granted);
    }

    /// <summary>Releases a hold whose call failed: released (or already released), settled (its usage was counted:
    /// nothing to release), or unknown (never granted, or expired).</summary>
    public async Task<string> ReleaseAsync(string holdId)
    {
        var db = redis.GetDatabase();
        RedisValue owner;
        using (RedisSpans.Start("GET"))
        {
            owner = await db.StringGetAsync(keys.HoldOwner(holdId));
        }

        if (!owner.HasValue)
        {
            return BudgetHoldCall.Unknown;
        }

        using var span = RedisSpans.Start("EVALSHA");
        var (outcome, _) = BudgetHoldCall.DecodeRelease(await BudgetHoldCall.RunAsync(db, BudgetHoldCall.Release(keys, owner!, holdId, clock.GetUtcNow())));
        return outcome;
    }

    /// <summary>What the user holds now (expired holds left out), in micro-USD. Read for every row of a report: the
    /// stored sum is exact while no hold has expired unfreed, which two plain reads tell; only then does it take
    /// the script, which frees them first. So a report reads without writing (the figures were the same either way,
    /// within noise: BENCHMARKS.md).</summary>
    public async Task<long> HeldMicrosAsync(IDatabaseAsync db, string userId)
    {
        var now = clock.GetUtcNow();
        // In this order: a hold freed between the two reads has expired by then and left the sum.
        RedisValue held;
        RedisValue[] expired;
        using (RedisSpans.Start("ZRANGEBYSCORE HGET", 2))
        {
            var expiredTask = db.SortedSetRangeByScoreAsync(keys.UserHolds(userId), double.NegativeInfinity, now.ToUnixTimeMilliseconds(), take: 1);
            var heldTask = db.HashGetAsync(keys.UserHoldData(userId), LedgerKeys.HeldField);
            held = await heldTask;
            expired = await expiredTask;
        }

        if (expired.Length == 0)
        {
            return held.HasValue ? (long)held : 0;
        }

        using var span = RedisSpans.Start("EVALSHA");
        return BudgetHoldCall.DecodePeek(await BudgetHoldCall.RunAsync(db, BudgetHoldCall.Peek(keys, userId, now)));
    }

    /// <summary>budget − spent − held, never below 0. A granted hold reports none (null) for a user without a budget
    /// (0) who is not enforced; an enforced budget of 0 admits nothing that costs.</summary>
    private static decimal Left(long budget, long spent, long held) => BudgetOptions.ToUsd(Math.Max(0, budget - spent - held));
}
