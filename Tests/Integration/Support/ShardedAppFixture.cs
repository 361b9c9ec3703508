namespace LlmCostTracker.Tests.Integration;

/// <summary>The app on a real Redis Cluster: three cluster-enabled redis-server masters started by the AppHost
/// (<c>Infrastructure:RedisShards=3</c>), the ledger's 16 buckets spread over them, and two API replicas behind the
/// orchestrator's proxy (budget holds must be exact across them), with tags aggregated over the buckets.</summary>
public sealed class ShardedAppFixture : AppFixture
{
    public const int Shards = 3;
    public const int ApiReplicas = 2;

    /// <summary>Tag dimensions here: the defaults, <c>project</c> (only the sum-invariant test tags it, so it can
    /// sum every value) and <c>customer</c> (only the cap test).</summary>
    public static readonly string[] Dimensions = ["team", "feature", "environment", "project", "customer"];

    /// <summary>A cardinality cap the cap test can reach; no other test here uses this many values of a dimension.</summary>
    public const int MaxValuesPerDimension = 10;

    protected override string[] AppHostArgs =>
    [
        $"Infrastructure:RedisShards={Shards}", $"ApiService:Replicas={ApiReplicas}",
        $"Attribution:MaxValuesPerDimension={MaxValuesPerDimension}", TestFoldInterval,
        .. Dimensions.Select((d, i) => $"Attribution:Dimensions:{i}={d}"),
    ];
}

[CollectionDefinition(Name)]
public sealed class ShardedCollection : ICollectionFixture<ShardedAppFixture>
{
    public const string Name = "sharded";
}
