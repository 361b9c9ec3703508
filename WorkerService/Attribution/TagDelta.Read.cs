using System.Text.Json;
using LlmCostTracker.Ledger;

namespace LlmCostTracker.WorkerService.Attribution;

// Reading a delta back for the fold, the call's duplicates taken out.
public static partial class TagDelta
{
    /// <summary>A delta as appended: its id, month and tag sums with the duplicates the script listed after it
    /// taken out.</summary>
    public static (string Id, string Month, List<(string Dimension, string Value, Sums Sums)> Tags) Read(ReadOnlyMemory<byte> delta)
    {
        var newline = delta.Span.IndexOf((byte)'\n');
        using var document = JsonDocument.Parse(newline < 0 ? delta : delta[..newline]);
        var root = document.RootElement;
        var tags = new List<(string, string, Sums)>();
        foreach (var tag in root.GetProperty("tags").EnumerateArray())
        {
            var sums = new Sums();
            ReadCounters(tag.GetProperty("c"), sums.Counters);
            foreach (var model in tag.GetProperty("m").EnumerateObject())
            {
                ReadCounters(model.Value, sums.Models[model.Name] = new long[sums.Counters.Length]);
            }

            foreach (var day in tag.GetProperty("day").EnumerateObject())
            {
                sums.Days[day.Name] = day.Value.GetInt64();
            }

            foreach (var user in tag.GetProperty("u").EnumerateObject())
            {
                sums.Users[user.Name] = user.Value.GetInt64();
            }

            tags.Add((Text(tag, "d"), Text(tag, "v"), sums));
        }

        if (newline >= 0)
        {
            // The call's duplicates (cjson from the script): { s = set number, m, d = model and day fields,
            // c = counters, u = userId } each.
            var sets = root.GetProperty("sets").EnumerateArray().Select(s => s.EnumerateArray().Select(n => n.GetInt32()).ToArray()).ToArray();
            using var duplicates = JsonDocument.Parse(delta[(newline + 1)..]);
            Span<long> counters = stackalloc long[LedgerKeys.Counters.Length];
            foreach (var duplicate in duplicates.RootElement.EnumerateArray())
            {
                var c = duplicate.GetProperty("c");
                for (var k = 0; k < counters.Length; k++)
                {
                    counters[k] = (long)c[k].GetDouble();
                }

                var model = Text(duplicate, "m");
                var day = Text(duplicate, "d");
                var user = Text(duplicate, "u");
                foreach (var number in sets[duplicate.GetProperty("s").GetInt32() - 1])
                {
                    tags[number].Item3.Add(counters, model, day, user, sign: -1);
                }
            }
        }

        return (Text(root, "id"), Text(root, "month"), tags);
    }

    private static string Text(JsonElement parent, string name) => UnreadableEntry.Text(parent.GetProperty(name), $"A tag delta's \"{name}\"");

    private static void ReadCounters(JsonElement array, long[] into)
    {
        var k = 0;
        foreach (var value in array.EnumerateArray())
        {
            into[k++] = value.GetInt64();
        }
    }
}
