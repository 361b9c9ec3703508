using System.Text.Json;
using LlmCostTracker.Contracts;
using LlmCostTracker.Ledger;
using StackExchange.Redis;

namespace LlmCostTracker.History.Repricing;

/// <summary>A cost correction of a user's model and day in a month Redis still holds (micro-USD).</summary>
public readonly record struct LedgerCorrection(string UserId, string Model, DateOnly Day, long Delta);

/// <summary>The arguments and reply of <c>Ledger/Scripts/reprice-ledger.lua</c>, and the corrections' stored form
/// (<c>reprice_runs.redis_deltas</c>: a JSON array of <c>[userId, model, day, delta]</c>).</summary>
public static class RepriceLedgerCall
{
    public static readonly RedisScript Script = RedisScript.Load("reprice-ledger.lua");

    /// <summary>The row changes summed per user, model and day (Redis keeps no provider, tier or band), only for
    /// months whose keys still live at <paramref name="now"/>, in a stable order.</summary>
    public static List<LedgerCorrection> Corrections(IEnumerable<RowChange> changes, DateTimeOffset now) =>
    [
        .. changes
            .Where(c => LedgerMonth.Of(new DateTimeOffset(c.Key.Day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero)).ExpiresAt > now)
            .GroupBy(c => (c.Key.UserId, c.Key.Model, c.Key.Day))
            .Select(g => new LedgerCorrection(g.Key.UserId, g.Key.Model, g.Key.Day, g.Sum(c => c.Delta)))
            .Where(c => c.Delta != 0)
            .OrderBy(c => c.Day).ThenBy(c => c.UserId, StringComparer.Ordinal).ThenBy(c => c.Model, StringComparer.Ordinal),
    ];

    public static string Serialize(IReadOnlyList<LedgerCorrection> corrections)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var c in corrections)
            {
                json.WriteStartArray();
                json.WriteStringValue(c.UserId);
                json.WriteStringValue(c.Model);
                json.WriteStringValue(HistoryDays.Format(c.Day));
                json.WriteNumberValue(c.Delta);
                json.WriteEndArray();
            }

            json.WriteEndArray();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    public static List<LedgerCorrection> Deserialize(string json)
    {
        using var document = JsonDocument.Parse(json);
        return
        [
            .. document.RootElement.EnumerateArray().Select(e => new LedgerCorrection(
                e[0].GetString()!, e[1].GetString()!, HistoryDays.Parse(e[2].GetString()!), e[3].GetInt64())),
        ];
    }

    /// <summary>One script call per bucket, month and <paramref name="perCall"/> corrections, each with its own marker,
    /// cut the same way from the same stored list whenever the run is applied again.</summary>
    public static IEnumerable<(RedisKey[] Keys, RedisValue[] Args)> Encode(
        LedgerKeys keys, long run, IReadOnlyList<LedgerCorrection> corrections, int perCall, DateTimeOffset now)
    {
        var byPart = corrections
            .GroupBy(c => (Bucket: keys.BucketOf(c.UserId), Month: LedgerMonth.Of(new DateTimeOffset(c.Day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero))))
            .OrderBy(g => g.Key.Bucket).ThenBy(g => g.Key.Month.Key, StringComparer.Ordinal);
        foreach (var group in byPart)
        {
            var (bucket, month) = group.Key;
            var lifetime = (long)Math.Max(1, Math.Ceiling((month.ExpiresAt - now).TotalSeconds));
            var part = 0;
            foreach (var chunk in group.Chunk(perCall))
            {
                var users = chunk.Select(c => c.UserId).Distinct(StringComparer.Ordinal).ToList();
                var position = users.Select((u, i) => (u, i)).ToDictionary(p => p.u, p => p.i + 1, StringComparer.Ordinal);
                var redisKeys = new List<RedisKey>(3 + users.Count)
                {
                    keys.RepriceMarker(bucket, run, month.Key, part++), keys.MonthTotals(bucket, month.Key), keys.MonthUsers(bucket, month.Key),
                };
                redisKeys.AddRange(users.Select(u => (RedisKey)keys.UserMonth(u, month.Key)));
                var args = new List<RedisValue>(3 + users.Count + 4 * chunk.Length) { lifetime, LedgerKeys.Cost, users.Count };
                args.AddRange(users.Select(u => (RedisValue)u));
                foreach (var c in chunk)
                {
                    args.Add(position[c.UserId]);
                    args.Add(LedgerKeys.ModelField(c.Model));
                    args.Add(LedgerKeys.DayField(c.Day));
                    args.Add(c.Delta);
                }

                yield return ([.. redisKeys], [.. args]);
            }
        }
    }

    /// <summary>The corrections applied by a call, or null when its marker said it was already in.</summary>
    public static long? Decode(RedisResult reply) => (long)reply is var n && n < 0 ? null : n;
}
