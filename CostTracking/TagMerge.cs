using LlmCostTracker.Contracts;

namespace LlmCostTracker.CostTracking;

/// <summary>Merges tag layers (lowest precedence first) into the tags of one event, leaving off what the API would
/// refuse: a cost must not be lost over a tag, and one refused event would have its whole batch refused.</summary>
public static class TagMerge
{
    /// <summary>The merged tags (null when none), with how many were left off: malformed, of a dimension not in
    /// <paramref name="dimensions"/>, or the lowest-precedence ones past <see cref="AttributionOptions.MaxTagsPerEvent"/>.</summary>
    public static IReadOnlyDictionary<string, string>? Merge(
        IReadOnlyCollection<string> dimensions, out int leftOff, params IEnumerable<KeyValuePair<string, string>>?[] layers)
    {
        leftOff = 0;
        Dictionary<string, (string Value, int Order)>? merged = null;
        var order = 0;
        foreach (var layer in layers)
        {
            if (layer is null)
            {
                continue;
            }

            foreach (var (dimension, value) in layer)
            {
                if (dimensions.Contains(dimension) && TagValidator.IsValue(value))
                {
                    (merged ??= new(StringComparer.Ordinal))[dimension] = (value, order++);
                }
                else
                {
                    leftOff++;
                }
            }
        }

        if (merged is null)
        {
            return null;
        }

        var kept = merged.OrderByDescending(t => t.Value.Order).Take(AttributionOptions.MaxTagsPerEvent).ToList();
        leftOff += merged.Count - kept.Count;
        return kept.ToDictionary(t => t.Key, t => t.Value.Value, StringComparer.Ordinal);
    }
}
