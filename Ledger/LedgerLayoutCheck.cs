using Microsoft.Extensions.Hosting;
using LlmCostTracker.Contracts;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmCostTracker.Ledger;

/// <summary>Refuses to start on a ledger written with another bucket count (see <see cref="LedgerKeys.CheckStoredLayoutAsync"/>),
/// and reads since when the ledger has claims of the current form, which <see cref="ClaimWindow"/> needs before the
/// first event is counted (<c>claim-layout.lua</c>).</summary>
public sealed class LedgerLayoutCheck(IConnectionMultiplexer redis, LedgerKeys keys, ClaimWindow claims, IOptions<LedgerOptions> options, TimeProvider clock) : IHostedService
{
    public static readonly RedisScript Script = RedisScript.Load("claim-layout.lua");

    public Task StartAsync(CancellationToken cancellationToken) => keys.CheckStoredLayoutAsync(
        () => ClaimAsync(redis.GetDatabase(), keys, claims, clock),
        ex => ex is RedisConnectionException or RedisTimeoutException, options.Value, clock, cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Stores the layout and the claim form where none are; returns the bucket count stored before (null: a
    /// new ledger) and tells <paramref name="claims"/> since when the current form is in use.</summary>
    public static async Task<string?> ClaimAsync(IDatabase db, LedgerKeys keys, ClaimWindow claims, TimeProvider clock)
    {
        var reply = (RedisValue[])(await Script.EvaluateAsync(db, [LedgerKeys.LayoutKey, LedgerKeys.ClaimFormKey],
            [keys.Buckets, clock.GetUtcNow().ToUnixTimeSeconds()]))!;
        claims.FormChangedAt(DateTimeOffset.FromUnixTimeSeconds((long)reply[1]));
        return reply[0].IsNull ? null : (string?)reply[0];
    }
}
