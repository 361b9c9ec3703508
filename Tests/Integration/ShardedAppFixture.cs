namespace LlmCostTracker.Tests.Integration;

/// <summary>The app on a real Redis Cluster: three cluster-enabled redis-server masters started by the AppHost
/// (<c>Infrastructure:RedisShards=3</c>), the ledger's 16 buckets spread over them.</summary>
public sealed class ShardedAppFixture : AppFixture
{
    public const int Shards = 3;

    protected override string[] AppHostArgs => [$"Infrastructure:RedisShards={Shards}"];
}

[CollectionDefinition(Name)]
public sealed class ShardedCollection : ICollectionFixture<ShardedAppFixture>
{
    public const string Name = "sharded";
}
