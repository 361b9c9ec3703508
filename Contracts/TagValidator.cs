namespace LlmCostTracker.Contracts;

/// <summary>The rules for usage tags (dimension → value), shared by the API (with the configured dimensions) and
/// in-process trackers (shape only: they do not know the API's configuration).</summary>
public static class TagValidator
{
    public const int MaxDimensionLength = 32;
    public const int MaxValueLength = 64;

    /// <summary>The value usage is counted under once a dimension has <see cref="AttributionOptions.MaxValuesPerDimension"/>
    /// values in a month. Its parentheses are outside the value character set, so no real value is ever it.</summary>
    public const string OtherValue = "(other)";

    /// <summary>Lowercase ASCII letters, digits, <c>_</c> and <c>-</c>, starting with a letter: one segment of a Redis
    /// key (no colon), of a route and of an alert channel.</summary>
    public static bool IsDimensionName(string? name)
    {
        if (name is not { Length: > 0 and <= MaxDimensionLength } || !char.IsAsciiLetterLower(name[0]))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>1 to 64 characters from the userId set (<see cref="UsageValidator.IsSafeId"/>).</summary>
    public static bool IsValue(string? value) => value is { Length: > 0 and <= MaxValueLength } && UsageValidator.IsSafeId(value);

    /// <summary>Checks an event's tags; adds each problem under <paramref name="prefix"/> then <c>tags</c> (or
    /// <c>tags.team</c> for one value; the prefix is e.g. <c>events[3].</c> or empty, joined only for a problem: this
    /// runs for every tagged event) and returns them (in dimension order), or
    /// null when there are none or one is refused. <paramref name="dimensions"/> null accepts any well-formed dimension.</summary>
    public static IReadOnlyDictionary<string, string>? Check(
        IReadOnlyDictionary<string, string?>? tags, IReadOnlyCollection<string>? dimensions, string prefix, IDictionary<string, string[]> errors)
    {
        if (tags is null || tags.Count == 0)
        {
            return null;
        }

        if (TagSetPool.PassedWith(tags, dimensions))
        {
            return (IReadOnlyDictionary<string, string>)tags;
        }

        var before = errors.Count;
        if (tags.Count > AttributionOptions.MaxTagsPerEvent)
        {
            errors[prefix + "tags"] = [$"tags may hold at most {AttributionOptions.MaxTagsPerEvent} dimensions, not {tags.Count}."];
            return null;
        }

        foreach (var (dimension, value) in tags)
        {
            if (!IsDimensionName(dimension) || (dimensions is not null && !dimensions.Contains(dimension)))
            {
                errors[prefix + "tags"] = [dimensions is null
                    ? $"'{Printable(dimension)}' is not a tag dimension (1 to {MaxDimensionLength} characters from lowercase letters, digits, _ and -)."
                    : $"'{Printable(dimension)}' is not a configured tag dimension; the dimensions are {string.Join(", ", dimensions)}."];
            }
            else if (!IsValue(value))
            {
                errors[$"{prefix}tags.{dimension}"] = [$"A tag value must be 1 to {MaxValueLength} characters from letters, digits and ._-@+:"];
            }
        }

        if (errors.Count != before)
        {
            return null;
        }

        // Checked on every tagged event on the API's hot path: a pooled set in order (the pool orders its sets) goes on
        // as it is, shared and never changed; another is copied in order, sorted in place only when out of order.
        string? previous = null;
        var inOrder = true;
        foreach (var dimension in tags.Keys)
        {
            inOrder &= previous is null || string.CompareOrdinal(previous, dimension) < 0;
            previous = dimension;
        }

        if (inOrder && TagSetPool.IsPooled(tags))
        {
            TagSetPool.MarkPassed(tags, dimensions);
            return (IReadOnlyDictionary<string, string>)tags;
        }

        var sorted = tags.ToArray();
        if (!inOrder)
        {
            Array.Sort(sorted, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        }

        var ordered = new Dictionary<string, string>(sorted.Length, StringComparer.Ordinal);
        foreach (var (dimension, value) in sorted)
        {
            ordered[dimension] = value!;
        }

        return ordered;
    }

    /// <summary>A refused dimension name as it can be shown back: bounded and without control characters.</summary>
    private static string Printable(string name)
    {
        var shown = new string([.. name.Take(MaxDimensionLength).Select(c => char.IsControl(c) ? '?' : c)]);
        return name.Length > MaxDimensionLength ? shown + "..." : shown;
    }
}
