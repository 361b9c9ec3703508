namespace LlmCostTracker.CostTracking;

/// <summary>The ambient user whose LLM calls are being made, for the chat client middleware:
/// <c>using (CostTrackingContext.ForUser(userId)) { await chat.GetResponseAsync(...); }</c>.</summary>
public static class CostTrackingContext
{
    private static readonly AsyncLocal<string?> Current = new();

    public static string? CurrentUserId => Current.Value;

    public static IDisposable ForUser(string userId)
    {
        var previous = Current.Value;
        Current.Value = userId;
        return new Restore(previous);
    }

    private sealed class Restore(string? previous) : IDisposable
    {
        public void Dispose() => Current.Value = previous;
    }
}
