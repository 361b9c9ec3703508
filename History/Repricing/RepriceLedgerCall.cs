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
    public static readonly RedisScript Script = RedisScript.Load("reprice-ledger.lua").Naming(typeof(RepriceKey), typeof(RepriceArg), typeof(CorrectionArg));

    /// <summary>The call's keys: the user months of its users follow from <see cref="FirstUserMonth"/>.</summary>
    public enum RepriceKey { Marker, MonthTotals, MonthUsers, FirstUserMonth }

    /// <summary>The call's header: its users' ids follow from <see cref="FirstUser"/>, then a
    /// <see cref="CorrectionArg"/> record per correction.</summary>
    public enum RepriceArg { MarkerLifetime, CostField, UserCount, FirstUser }

    /// <summary>A correction: its user's number (1-based, in the keys' order), model field, day field and delta.</summary>
    public enum CorrectionArg { User, Model, Day, Delta }

    private static readonly int CorrectionArgs = Enum.GetValues<CorrectionArg>().Length;

    /// <summary>The row changes summed per user, model and day (Redis keeps no provider, tier or band), only for
    /// months whose keys still live at <paramref name="now"/>, in a stable order.</summary>
    public static List<LedgerCorrection> Corrections(IEnumerable<RowChange> changes, DateTimeOffset now) =>
    [
        .. changes
            .Where(c => UsageMonth.Of(new DateTimeOffset(c.Key.Day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero)).ExpiresAt > now)
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
            .GroupBy(c => (Bucket: keys.BucketOf(c.UserId), Month: UsageMonth.Of(new DateTimeOffset(c.Day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero))))
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
                var redisKeys = new RedisKey[(int)RepriceKey.FirstUserMonth + users.Count];
                redisKeys[(int)RepriceKey.Marker] = keys.RepriceMarker(bucket, run, month.Key, part++);
                redisKeys[(int)RepriceKey.MonthTotals] = keys.MonthTotals(bucket, month.Key);
                redisKeys[(int)RepriceKey.MonthUsers] = keys.MonthUsers(bucket, month.Key);
                var args = new RedisValue[(int)RepriceArg.FirstUser + users.Count + CorrectionArgs * chunk.Length];
                args[(int)RepriceArg.MarkerLifetime] = lifetime;
                args[(int)RepriceArg.CostField] = LedgerKeys.Cost;
                args[(int)RepriceArg.UserCount] = users.Count;
                for (var u = 0; u < users.Count; u++)
                {
                    redisKeys[(int)RepriceKey.FirstUserMonth + u] = keys.UserMonth(users[u], month.Key);
                    args[(int)RepriceArg.FirstUser + u] = users[u];
                }

                var at = (int)RepriceArg.FirstUser + users.Count;
                foreach (var c in chunk)
                {
                    args[at + (int)CorrectionArg.User] = position[c.UserId];
                    args[at + (int)CorrectionArg.Model] = LedgerKeys.ModelField(c.Model);
                    args[at + (int)CorrectionArg.Day] = LedgerKeys.DayField(c.Day);
                    args[at + (int)CorrectionArg.Delta] = c.Delta;
                    at += CorrectionArgs;
                }

                yield return (redisKeys, args);
            }
        }
    }

    /// <summary>The corrections applied by a call, or null when its marker said it was already in.</summary>
    public static long? Decode(RedisResult reply) => (long)reply is var n && n < 0 ? null : n;
}
