namespace LlmCostTracker.Tests.Integration;

/// <summary>The app on a real Redis Cluster: three cluster-enabled redis-server masters started by the AppHost
/// (<c>Infrastructure:RedisShards=3</c>), the ledger's 16 buckets spread over them, and two API replicas behind the
/// orchestrator's proxy (budget holds must be exact across them).</summary>
public sealed class ShardedAppFixture : AppFixture
{
    public const int Shards = 3;
    public const int ApiReplicas = 2;

    protected override string[] AppHostArgs => [$"Infrastructure:RedisShards={Shards}", $"ApiService:Replicas={ApiReplicas}"];
}

[CollectionDefinition(Name)]
public sealed class ShardedCollection : ICollectionFixture<ShardedAppFixture>
{
    public const string Name = "sharded";
}
