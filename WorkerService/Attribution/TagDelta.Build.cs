using System.Buffers;
using System.Text;
using System.Text.Json;
using LlmCostTracker.Contracts;
using LlmCostTracker.Ledger;
using LlmCostTracker.WorkerService.Chunks;

namespace LlmCostTracker.WorkerService.Attribution;

// Writing a call's delta: the tag values' sums by model and day, as apply-usage.lua appends them.
public static partial class TagDelta
{
    /// <summary>The delta of a call's events (in the call's order), with each event's tag set number (0: none), or
    /// null when none of them carries a tag.</summary>
    public static (byte[] Json, int[] EventSets)? Build(LedgerChunk chunk, IReadOnlyList<PricedUsage> events, Func<string, string> modelField)
    {
        List<Building>? tags = null;
        // A tag is numbered by its strings' references, as the pool shares them (TagSetPool): no hashing of its text
        // for every distinct set of the call. Equal tags of two instances (a set read without the pool) get two
        // numbers, which the fold adds together: the sums are the same.
        Dictionary<(string, string), int>? tagNumbers = null;
        // Events share tag set instances (the wire converter pools them): each instance is numbered once a call (two
        // instances of equal tags get two numbers, which only lists the set twice).
        Dictionary<IReadOnlyDictionary<string, string>, (int[] Members, int Set)>? bySet = null;
        List<int[]>? sets = null;
        // A call holds a few models and days: each gets a position, and a tag's sums are arrays by position, so an
        // event adds to its tags without a lookup by name.
        List<(string Model, string Field)>? models = null;
        List<CalendarDay>? days = null;
        // The tags a user's events touched, each holding the user's cost over them, added to its users once.
        List<int>? touched = null;
        var eventSets = new int[chunk.EventCount];
        Span<long> counters = stackalloc long[Width];
        var j = 0;
        foreach (var (userId, indexes) in chunk.Users)
        {
            foreach (var index in indexes)
            {
                var e = events[index];
                if (e.Usage.Tags is not { Count: > 0 } eventTags)
                {
                    j++;
                    continue;
                }

                tags ??= [];
                tagNumbers ??= new(ByReference.Instance);
                sets ??= [];
                bySet ??= new(ReferenceEqualityComparer.Instance);
                models ??= [];
                days ??= [];
                touched ??= [];
                if (!bySet.TryGetValue(eventTags, out var numbered))
                {
                    var numbers = new int[eventTags.Count];
                    var n = 0;
                    foreach (var (dimension, value) in eventTags)
                    {
                        if (!tagNumbers.TryGetValue((dimension, value), out var number))
                        {
                            number = tagNumbers[(dimension, value)] = tags.Count;
                            tags.Add(new Building(dimension, value));
                        }

                        numbers[n++] = number;
                    }

                    sets.Add(numbers);
                    numbered = bySet[eventTags] = (numbers, sets.Count);
                }

                var (members, set) = numbered;
                eventSets[j++] = set;
                counters[0] = e.CostMicros;
                counters[1] = e.Usage.InputTokens;
                counters[2] = e.Usage.CachedInputTokens;
                counters[3] = e.Usage.OutputTokens;
                counters[4] = 1;
                counters[5] = e.Usage.CacheWriteInputTokens;
                counters[6] = e.Usage.ReasoningOutputTokens;
                var model = PositionOf(models, e.Usage.Model, modelField);
                var day = PositionOf(days, LedgerCalendar.DayOf(e.Usage.OccurredAt));
                foreach (var number in members)
                {
                    var tag = tags[number];
                    tag.Add(counters, model, day);
                    if (tag.UserCost is null)
                    {
                        touched.Add(number);
                        tag.UserCost = 0;
                    }

                    tag.UserCost += e.CostMicros;
                }
            }

            if (touched is { Count: > 0 })
            {
                foreach (var number in touched)
                {
                    var tag = tags![number];
                    tag.Users[userId] = tag.Users.GetValueOrDefault(userId) + tag.UserCost!.Value;
                    tag.UserCost = null;
                }

                touched.Clear();
            }
        }

        if (tags is null)
        {
            return null;
        }

        var buffer = new ArrayBufferWriter<byte>(256 + tags.Count * 256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("id", Guid.NewGuid().ToString("N"));
            json.WriteString("month", chunk.Month.Key);
            json.WriteStartArray("tags");
            foreach (var tag in tags)
            {
                json.WriteStartObject();
                json.WriteString("d", tag.Dimension);
                json.WriteString("v", tag.Value);
                WriteCounters(json, "c", tag.Counters);
                json.WriteStartObject("m");
                for (var m = 0; m < models!.Count; m++)
                {
                    // Every counted event is a request: a model without one is a model this tag did not use.
                    if ((m + 1) * Width <= tag.ByModel.Length && tag.ByModel[(m * Width) + RequestsIndex] > 0)
                    {
                        WriteCounters(json, models[m].Field, tag.ByModel.AsSpan(m * Width, Width));
                    }
                }

                json.WriteEndObject();
                json.WriteStartObject("day");
                for (var d = 0; d < days!.Count; d++)
                {
                    if (d < tag.DayRequests.Length && tag.DayRequests[d] > 0)
                    {
                        json.WriteNumber(days[d].DayField, tag.DayCost[d]);
                    }
                }

                json.WriteEndObject();
                WriteNumbers(json, "u", tag.Users);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("sets");
            foreach (var set in sets!)
            {
                json.WriteStartArray();
                foreach (var number in set)
                {
                    json.WriteNumberValue(number);
                }

                json.WriteEndArray();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return (buffer.WrittenSpan.ToArray(), eventSets);
    }

    private static readonly int Width = LedgerKeys.Counters.Length;
    private const int RequestsIndex = LedgerKeys.RequestsPosition - 1;

    private static int PositionOf(List<(string Model, string Field)> models, string model, Func<string, string> modelField)
    {
        for (var m = 0; m < models.Count; m++)
        {
            if (string.Equals(models[m].Model, model, StringComparison.Ordinal))
            {
                return m;
            }
        }

        models.Add((model, modelField(model)));
        return models.Count - 1;
    }

    private static int PositionOf(List<CalendarDay> days, CalendarDay day)
    {
        for (var d = 0; d < days.Count; d++)
        {
            if (days[d].Date == day.Date)
            {
                return d;
            }
        }

        days.Add(day);
        return days.Count - 1;
    }

    private sealed class ByReference : IEqualityComparer<(string, string)>
    {
        public static readonly ByReference Instance = new();

        public bool Equals((string, string) x, (string, string) y) => ReferenceEquals(x.Item1, y.Item1) && ReferenceEquals(x.Item2, y.Item2);

        public int GetHashCode((string, string) tag) =>
            HashCode.Combine(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(tag.Item1), System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(tag.Item2));
    }

    /// <summary>One tag value's sums while a call's delta is built: by model and day position.</summary>
    private sealed class Building(string dimension, string value)
    {
        public string Dimension { get; } = dimension;

        public string Value { get; } = value;

        public long[] Counters { get; } = new long[Width];

        public long[] ByModel { get; private set; } = new long[Width];

        public long[] DayCost { get; private set; } = new long[1];

        public long[] DayRequests { get; private set; } = new long[1];

        public Dictionary<string, long> Users { get; } = new(StringComparer.Ordinal);

        /// <summary>The current user's cost under this tag so far; null while the user has not touched it.</summary>
        public long? UserCost { get; set; }

        public void Add(ReadOnlySpan<long> counters, int model, int day)
        {
            if ((model + 1) * Width > ByModel.Length)
            {
                var grown = ByModel;
                Array.Resize(ref grown, Math.Max(2 * ByModel.Length, (model + 1) * Width));
                ByModel = grown;
            }

            if (day >= DayCost.Length)
            {
                var cost = DayCost;
                var requests = DayRequests;
                Array.Resize(ref cost, day + 1);
                Array.Resize(ref requests, day + 1);
                DayCost = cost;
                DayRequests = requests;
            }

            var byModel = ByModel.AsSpan(model * Width, Width);
            for (var k = 0; k < Width; k++)
            {
                Counters[k] += counters[k];
                byModel[k] += counters[k];
            }

            DayCost[day] += counters[0];
            DayRequests[day]++;
        }
    }

    private static void WriteCounters(Utf8JsonWriter json, string name, ReadOnlySpan<long> counters)
    {
        json.WriteStartArray(name);
        foreach (var value in counters)
        {
            json.WriteNumberValue(value);
        }

        json.WriteEndArray();
    }

    private static void WriteNumbers(Utf8JsonWriter json, string name, Dictionary<string, long> numbers)
    {
        json.WriteStartObject(name);
        foreach (var (key, value) in numbers)
        {
            json.WriteNumber(key, value);
        }

        json.WriteEndObject();
    }
}
