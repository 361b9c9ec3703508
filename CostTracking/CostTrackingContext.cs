namespace LlmCostTracker.CostTracking;

/// <summary>The ambient user and tags of the LLM calls being made, for the chat client middleware and the tracker:
/// <c>using (CostTrackingContext.ForUser(userId)) using (CostTrackingContext.Tag("feature", "summarize")) { ... }</c>.
/// Scopes nest and flow with async calls; an inner tag of a dimension wins over an outer one.</summary>
public static class CostTrackingContext
{
    private static readonly AsyncLocal<string?> CurrentUser = new();
    private static readonly AsyncLocal<TagScope?> CurrentTag = new();

    public static string? CurrentUserId => CurrentUser.Value;

    /// <summary>The ambient tags, outermost first (a dimension may repeat: the later one wins).</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> CurrentTags
    {
        get
        {
            if (CurrentTag.Value is null)
            {
                return [];
            }

            var tags = new List<KeyValuePair<string, string>>();
            for (var scope = CurrentTag.Value; scope is not null; scope = scope.Parent)
            {
                tags.Add(new(scope.Dimension, scope.Value));
            }

            tags.Reverse();
            return tags;
        }
    }

    public static IDisposable ForUser(string userId)
    {
        var previous = CurrentUser.Value;
        CurrentUser.Value = userId;
        return new Restore(() => CurrentUser.Value = previous);
    }

    /// <summary>Tags the usage tracked inside the scope. Never throws: a tag the API would refuse (a dimension not in
    /// <see cref="CostTrackingOptions.Dimensions"/>, a bad value) is left off the events, which are still counted.</summary>
    public static IDisposable Tag(string dimension, string value)
    {
        var previous = CurrentTag.Value;
        CurrentTag.Value = new TagScope(previous, dimension, value);
        return new Restore(() => CurrentTag.Value = previous);
    }

    private sealed record TagScope(TagScope? Parent, string Dimension, string Value);

    private sealed class Restore(Action restore) : IDisposable
    {
        public void Dispose() => restore();
    }
}
