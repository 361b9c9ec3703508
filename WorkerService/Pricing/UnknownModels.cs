using LlmCostTracker.Contracts;
using StackExchange.Redis;

namespace LlmCostTracker.WorkerService.Pricing;

/// <summary>Counts, per month, the model ids priced at the fallback (requests and cost charged), so an admin sees
/// what to add (<c>GET /api/v1/admin/pricing/unknown-models</c>). Recorded after the ledger write, for events it
/// counted (not duplicates): a worker that dies in between leaves those out, never counts them twice.</summary>
public sealed class UnknownModels(IConnectionMultiplexer redis)
{
    public async Task RecordAsync(IEnumerable<(LlmUsage Usage, long CostMicros)> counted)
    {
        var byMonth = counted
            .GroupBy(e => LedgerMonth.Of(e.Usage.OccurredAt))
            .Select(month => (month.Key, Models: month.GroupBy(e => e.Usage.Model, StringComparer.Ordinal)
                .Select(m => (Model: m.Key, Requests: m.LongCount(), Cost: m.Sum(e => e.CostMicros))).ToList()))
            .ToList();
        if (byMonth.Count == 0)
        {
            return;
        }

        var batch = redis.GetDatabase().CreateBatch();
        var writes = new List<Task>();
        foreach (var (month, models) in byMonth)
        {
            var key = LedgerKeys.UnknownModels(month.Key);
            foreach (var (model, requests, cost) in models)
            {
                writes.Add(batch.HashIncrementAsync(key, $"{model}|{LedgerKeys.Requests}", requests));
                writes.Add(batch.HashIncrementAsync(key, $"{model}|{LedgerKeys.Cost}", cost));
            }

            writes.Add(batch.KeyExpireAsync(key, month.ExpiresAt.UtcDateTime));
        }

        batch.Execute();
        await Task.WhenAll(writes);
    }
}
