using LlmCostTracker.Contracts;
using LlmCostTracker.Ledger;

namespace LlmCostTracker.WorkerService.Chunks;

/// <summary>One script call's share of a write: one ledger bucket and month (one Redis Cluster slot), whole users
/// (or pieces of a very busy one). <see cref="Users"/> hold indexes into the write's events.</summary>
public sealed class LedgerChunk(int bucket, UsageMonth month)
{
    public int Bucket { get; } = bucket;

    public UsageMonth Month { get; } = month;

    public List<(string UserId, List<int> Indexes)> Users { get; } = [];

    public int EventCount { get; private set; }

    /// <summary>The write's event indexes in the order the call holds them (user by user).</summary>
    public int[] EventOrder() => [.. Users.SelectMany(u => u.Indexes)];

    /// <summary>Splits a write into calls: grouped by bucket and month, then by user in order of first appearance,
    /// at most <paramref name="maxEvents"/> events a call (a call blocks Redis while it runs, so a large write is
    /// split rather than stalling readers; each event's claim makes any split safe).</summary>
    public static List<LedgerChunk> Plan(LedgerKeys keys, IReadOnlyList<PricedUsage> events, int maxEvents)
    {
        var slots = new Dictionary<(int Bucket, UsageMonth Month), Dictionary<string, List<int>>>();
        for (var i = 0; i < events.Count; i++)
        {
            var usage = events[i].Usage;
            var slot = (keys.BucketOf(usage.UserId), LedgerCalendar.DayOf(usage.OccurredAt).Month);
            if (!slots.TryGetValue(slot, out var users))
            {
                slots[slot] = users = new Dictionary<string, List<int>>(StringComparer.Ordinal);
            }

            if (!users.TryGetValue(usage.UserId, out var indexes))
            {
                users[usage.UserId] = indexes = [];
            }

            indexes.Add(i);
        }

        var chunks = new List<LedgerChunk>();
        foreach (var ((bucket, month), users) in slots)
        {
            var chunk = new LedgerChunk(bucket, month);
            foreach (var (userId, indexes) in users)
            {
                for (var from = 0; from < indexes.Count; from += maxEvents)
                {
                    var piece = indexes.GetRange(from, Math.Min(maxEvents, indexes.Count - from));
                    if (chunk.EventCount > 0 && chunk.EventCount + piece.Count > maxEvents)
                    {
                        chunks.Add(chunk);
                        chunk = new LedgerChunk(bucket, month);
                    }

                    chunk.Users.Add((userId, piece));
                    chunk.EventCount += piece.Count;
                }
            }

            chunks.Add(chunk);
        }

        return chunks;
    }
}
