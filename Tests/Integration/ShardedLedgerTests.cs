using System.Net;
using StackExchange.Redis;

namespace LlmCostTracker.Tests.Integration;

/// <summary>The ledger spread over a real three-master Redis Cluster.</summary>
[Collection(ShardedCollection.Name)]
public sealed class ShardedLedgerTests(ShardedAppFixture app)
{
    [Fact]
    public async Task A_thousand_users_spread_over_every_master_with_exact_totals()
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        var users = Enumerable.Range(0, 1_000).Select(i => $"spread-{run}-{i}").ToArray();
        // Two events a user (1,250 µ$ each, gpt-4o 100 in / 100 out), in batches of 500.
        var events = users.SelectMany(u => new[] { FaultScenarios.Event(u), FaultScenarios.Event(u) }).ToArray();
        foreach (var batch in events.Chunk(500))
        {
            var response = await app.PostBatchAsync(new { events = batch });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        await Eventually.ReturnsAsync(
            () => app.UserTotalsAsync(users[^1]), totals => totals.GetValueOrDefault("requests") == 2, because: "the last user to be counted");
        foreach (var user in users)
        {
            await FaultScenarios.AssertExactTotalsAsync(app, user, 2);
        }

        var masters = app.Redis.GetServers().Where(s => !s.IsReplica).ToArray();
        Assert.Equal(ShardedAppFixture.Shards, masters.Length);
        foreach (var master in masters)
        {
            var userKeys = 0;
            await foreach (var key in master.KeysAsync(pattern: $"*:u:spread-{run}-*", pageSize: 1_000))
            {
                userKeys++;
            }

            Assert.True(userKeys > 0, $"{master.EndPoint} holds none of the users' keys");
        }
    }
}
