using LlmCostTracker.Ledger;

namespace LlmCostTracker.WorkerService.Attribution;

/// <summary>The tag sums of one ledger call (one bucket and month), the one place that knows their JSON: written here
/// for apply-usage.lua to append to the bucket's tag delta list, read back by <see cref="TagFolder"/>. Summing in
/// the worker keeps the script's per-event work for tags at nothing: it appends the delta as it is, with the call's
/// duplicates after it, which the fold takes out.</summary>
public static partial class TagDelta
{
    /// <summary>A delta starts with <c>{"id":"</c> and 32 hex digits (fold-tags.lua reads the id there).</summary>
    public const int IdLength = 32;

    /// <summary>The counters summed for a tag value (<see cref="LedgerKeys.Counters"/> order), its model and day
    /// fields, and its users' cost.</summary>
    public sealed class Sums
    {
        public long[] Counters { get; } = new long[LedgerKeys.Counters.Length];
        public Dictionary<string, long[]> Models { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, long> Days { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, long> Users { get; } = new(StringComparer.Ordinal);

        public void Add(ReadOnlySpan<long> counters, string modelField, string dayField, string userId, int sign = 1)
        {
            Users[userId] = Users.GetValueOrDefault(userId) + sign * counters[0];
            var model = Models.TryGetValue(modelField, out var m) ? m : Models[modelField] = new long[Counters.Length];
            for (var k = 0; k < Counters.Length; k++)
            {
                Counters[k] += sign * counters[k];
                model[k] += sign * counters[k];
            }

            Days[dayField] = Days.GetValueOrDefault(dayField) + sign * counters[0];
        }

        public void Add(Sums other)
        {
            for (var k = 0; k < Counters.Length; k++)
            {
                Counters[k] += other.Counters[k];
            }

            foreach (var (field, counters) in other.Models)
            {
                var model = Models.TryGetValue(field, out var m) ? m : Models[field] = new long[Counters.Length];
                for (var k = 0; k < counters.Length; k++)
                {
                    model[k] += counters[k];
                }
            }

            foreach (var (field, cost) in other.Days)
            {
                Days[field] = Days.GetValueOrDefault(field) + cost;
            }

            foreach (var (user, cost) in other.Users)
            {
                Users[user] = Users.GetValueOrDefault(user) + cost;
            }
        }
    }

    /// <summary>The id of a delta as fold-tags.lua reads it (after <c>{"id":"</c>), as the bytes there: a delta that
    /// is not one (shorter, or not text) still gives what the script's <c>string.sub</c> gives.</summary>
    public static byte[] IdOf(ReadOnlySpan<byte> delta) => delta.Length <= 7 ? [] : delta.Slice(7, Math.Min(IdLength, delta.Length - 7)).ToArray();
}
