namespace LlmCostTracker.Contracts;

/// <summary>Redis pub/sub channel names for budget alerts: a public contract, keep the format.</summary>
public static class AlertChannels
{
    public const string Prefix = "alerts:cost:";

    /// <summary>Subscribe to <c>alerts:cost:*</c> with PSUBSCRIBE to hear every user.</summary>
    public const string Pattern = Prefix + "*";

    public static string ForUser(string userId) => Prefix + userId;

    /// <summary><c>alerts:cost:{dimension}={value}</c>: <c>=</c> is outside the userId set, so no tag's channel is a user's.</summary>
    public static string ForTag(string dimension, string value) => $"{Prefix}{dimension}={value}";
}
