using LlmCostTracker.Contracts;
using LlmCostTracker.Pricing;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmCostTracker.Ledger.Pricing;

/// <summary>The prices in force as the admin API sees them (catalog, configuration, and the overrides in Redis),
/// and changes to the overrides. Every change raises <see cref="LedgerKeys.PricingVersionKey"/>, which each worker
/// polls (<c>Pricing:RefreshInterval</c>), so all replicas apply it to events they price from then on.</summary>
public sealed class PriceAdmin(IConnectionMultiplexer redis, CatalogStore catalogs, IOptions<PricingOptions> options)
{
    private const int MaxAttempts = 10;

    public async Task<PriceBook> BookAsync() => options.Value.Build(await OverridesAsync(), (await catalogs.CurrentAsync()).Catalog);

    public async Task<long> VersionAsync()
    {
        using var span = RedisSpans.Start("GET");
        return (long?)await redis.GetDatabase().StringGetAsync(LedgerKeys.PricingVersionKey) ?? 0;
    }

    /// <summary>Adds an override, or replaces the one of the same provider and date.</summary>
    public async Task SetAsync(PriceEntry entry)
    {
        var db = redis.GetDatabase();
        var field = entry.Id.ToLowerInvariant();
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            RedisValue stored;
            using (RedisSpans.Start("HGET"))
            {
                stored = await db.HashGetAsync(LedgerKeys.PricingOverridesKey, field);
            }

            var entries = stored.HasValue ? PriceOverrides.Read([stored.ToString()]) : [];
            entries.RemoveAll(e => e.Provider == entry.Provider && e.EffectiveFrom == entry.EffectiveFrom);
            entries.Add(entry);
            // Optimistic: written only if nobody changed this model's overrides since they were read.
            var change = db.CreateTransaction();
            change.AddCondition(stored.HasValue ? Condition.HashEqual(LedgerKeys.PricingOverridesKey, field, stored) : Condition.HashNotExists(LedgerKeys.PricingOverridesKey, field));
            _ = change.HashSetAsync(LedgerKeys.PricingOverridesKey, field, PriceOverrides.Write(entries.OrderBy(e => e.EffectiveFrom)));
            _ = change.StringIncrementAsync(LedgerKeys.PricingVersionKey);
            using var span = RedisSpans.Start("MULTI", 2);
            if (await change.ExecuteAsync())
            {
                return;
            }
        }

        throw new InvalidOperationException($"The overrides of {entry.Id} kept changing while being written.");
    }

    /// <summary>Removes every override of a model id; false when it had none.</summary>
    public async Task<bool> DeleteAsync(string modelId)
    {
        var db = redis.GetDatabase();
        var change = db.CreateTransaction();
        var deleted = change.HashDeleteAsync(LedgerKeys.PricingOverridesKey, modelId.ToLowerInvariant());
        _ = change.StringIncrementAsync(LedgerKeys.PricingVersionKey);
        change.AddCondition(Condition.HashExists(LedgerKeys.PricingOverridesKey, modelId.ToLowerInvariant()));
        using var span = RedisSpans.Start("MULTI", 2);
        return await change.ExecuteAsync() && await deleted;
    }

    public async Task<IReadOnlyList<WorkerPricing>> WorkersAsync()
    {
        HashEntry[] entries;
        using (RedisSpans.Start("HGETALL"))
        {
            entries = await redis.GetDatabase().HashGetAllAsync(LedgerKeys.PricingWorkersKey);
        }

        return [.. entries
            .Select(e => (Worker: e.Name.ToString(), Parts: e.Value.ToString().Split('|')))
            .Where(e => e.Parts.Length == 2 && long.TryParse(e.Parts[0], out _) && long.TryParse(e.Parts[1], out _))
            .Select(e => new WorkerPricing(e.Worker, long.Parse(e.Parts[0], System.Globalization.CultureInfo.InvariantCulture),
                DateTimeOffset.FromUnixTimeSeconds(long.Parse(e.Parts[1], System.Globalization.CultureInfo.InvariantCulture))))
            .OrderBy(w => w.Worker, StringComparer.Ordinal)];
    }

    public async Task<UnknownModelsReport> UnknownModelsAsync(UsageMonth month)
    {
        HashEntry[] entries;
        using (RedisSpans.Start("HGETALL"))
        {
            entries = await redis.GetDatabase().HashGetAllAsync(LedgerKeys.UnknownModels(month.Key));
        }

        var counters = entries.ToDictionary(e => e.Name.ToString(), e => (long)e.Value, StringComparer.Ordinal);
        var suffix = "|" + LedgerKeys.Requests;
        var rows = counters.Keys
            .Where(k => k.EndsWith(suffix, StringComparison.Ordinal))
            .Select(k => k[..^suffix.Length])
            .Select(model => new UnknownModelRow(model, counters[model + suffix], BudgetOptions.ToUsd(counters.GetValueOrDefault($"{model}|{LedgerKeys.Cost}"))))
            .OrderByDescending(r => r.CostUsd).ThenBy(r => r.Model, StringComparer.Ordinal);
        return new UnknownModelsReport(month.Key, "USD", [.. rows]);
    }

    private async Task<List<PriceEntry>> OverridesAsync()
    {
        RedisValue[] stored;
        using (RedisSpans.Start("HVALS"))
        {
            stored = await redis.GetDatabase().HashValuesAsync(LedgerKeys.PricingOverridesKey);
        }

        return PriceOverrides.Read(stored.Select(v => v.ToString()));
    }
}
