using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using LlmCostTracker.Contracts;
using LlmCostTracker.Pricing;
using StackExchange.Redis;

namespace LlmCostTracker.Ledger.Pricing;

/// <summary>Catalog versions stored in Redis (<c>PUT /api/v1/admin/pricing/catalog</c> and the scheduled pull): each
/// version is written once and never changed, so a parsed version is cached by its id for good. Version 0 is the
/// catalog shipped in the build. Storing or activating a version raises <see cref="LedgerKeys.PricingVersionKey"/>,
/// which every worker polls, so all replicas price with it within <c>Pricing:RefreshInterval</c>.</summary>
public sealed class CatalogStore(IConnectionMultiplexer redis)
{
    public const long Shipped = 0;

    private static readonly JsonSerializerOptions Compact = new(PriceCatalog.Json) { WriteIndented = false };
    private readonly ConcurrentDictionary<long, PriceCatalog> _parsed = new();

    /// <summary>The id of the version in force.</summary>
    public async Task<long> CurrentVersionAsync()
    {
        using var span = RedisSpans.Start("GET");
        return (long?)await redis.GetDatabase().StringGetAsync(LedgerKeys.PricingCatalogCurrentKey) ?? Shipped;
    }

    /// <summary>The version in force and its catalog.</summary>
    public async Task<(long Version, PriceCatalog Catalog)> CurrentAsync()
    {
        var version = await CurrentVersionAsync();
        return (version, await GetAsync(version) ?? PriceCatalog.Shipped());
    }

    /// <summary>A version's catalog, or null when there is no such version.</summary>
    public async Task<PriceCatalog?> GetAsync(long version)
    {
        if (version == Shipped)
        {
            return PriceCatalog.Shipped();
        }

        if (_parsed.TryGetValue(version, out var cached))
        {
            return cached;
        }

        RedisValue json;
        using (RedisSpans.Start("GET"))
        {
            json = await redis.GetDatabase().StringGetAsync(LedgerKeys.PricingCatalog(version));
        }

        if (json.IsNull)
        {
            return null;
        }

        using var stream = new MemoryStream((byte[])json!);
        var catalog = PriceCatalog.Parse(stream);
        _parsed.TryAdd(version, catalog);
        return catalog;
    }

    /// <summary>Stores a validated catalog as a new version and puts it in force, unless the version in force has
    /// the same content (then that version is returned and nothing changes).</summary>
    public async Task<(CatalogVersion Version, bool Stored)> StoreAsync(PriceCatalog catalog, string source, DateTimeOffset now)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(catalog, Compact);
        var sha = Convert.ToHexStringLower(SHA256.HashData(body));
        var db = redis.GetDatabase();
        var current = await CurrentVersionAsync();
        if ((await VersionsAsync()).FirstOrDefault(v => v.Version == current) is { } inForce && inForce.Sha256 == sha)
        {
            return (inForce, false);
        }

        long id;
        using (RedisSpans.Start("INCR"))
        {
            id = await db.StringIncrementAsync(LedgerKeys.PricingCatalogSequenceKey);
        }

        var version = new CatalogVersion(id, source, catalog.AsOf, catalog.Models.Count, now, sha);
        var change = db.CreateTransaction();
        _ = change.StringSetAsync(LedgerKeys.PricingCatalog(id), body);
        _ = change.HashSetAsync(LedgerKeys.PricingCatalogVersionsKey, id, JsonSerializer.Serialize(version, Compact));
        _ = change.StringSetAsync(LedgerKeys.PricingCatalogCurrentKey, id);
        _ = change.StringIncrementAsync(LedgerKeys.PricingVersionKey);
        using (RedisSpans.Start("MULTI", 4))
        {
            await change.ExecuteAsync();
        }

        _parsed.TryAdd(id, catalog);
        return (version, true);
    }

    /// <summary>Puts a stored version (or 0, the shipped catalog) in force; false when there is no such version.</summary>
    public async Task<bool> ActivateAsync(long version)
    {
        var db = redis.GetDatabase();
        var change = db.CreateTransaction();
        if (version != Shipped)
        {
            change.AddCondition(Condition.HashExists(LedgerKeys.PricingCatalogVersionsKey, version));
        }

        _ = change.StringSetAsync(LedgerKeys.PricingCatalogCurrentKey, version);
        _ = change.StringIncrementAsync(LedgerKeys.PricingVersionKey);
        using var span = RedisSpans.Start("MULTI", 2);
        return await change.ExecuteAsync();
    }

    /// <summary>Every version, newest first, ending with the shipped catalog (version 0).</summary>
    public async Task<IReadOnlyList<CatalogVersion>> VersionsAsync()
    {
        HashEntry[] entries;
        using (RedisSpans.Start("HGETALL"))
        {
            entries = await redis.GetDatabase().HashGetAllAsync(LedgerKeys.PricingCatalogVersionsKey);
        }

        var shipped = PriceCatalog.Shipped();
        return [.. entries
            .Select(e => JsonSerializer.Deserialize<CatalogVersion>(e.Value.ToString(), Compact)!)
            .OrderByDescending(v => v.Version)
            .Append(new CatalogVersion(Shipped, "shipped", shipped.AsOf, shipped.Models.Count, DateTimeOffset.MinValue, null))];
    }
}
