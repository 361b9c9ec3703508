namespace LlmCostTracker.Contracts;

/// <summary>The service tiers providers bill at: <c>standard</c> (the default), <c>batch</c> (asynchronous
/// batch APIs), <c>flex</c> (slower, cheaper processing) and <c>priority</c> (faster, dearer).</summary>
public static class ServiceTiers
{
    public const string Standard = "standard";
    public const string Batch = "batch";
    public const string Flex = "flex";
    public const string Priority = "priority";

    public static readonly string[] All = [Standard, Batch, Flex, Priority];

    /// <summary>The tier's canonical (lowercase) name, or null for a name that is none of them.</summary>
    public static string? Normalize(string tier) =>
        All.FirstOrDefault(t => string.Equals(t, tier.Trim(), StringComparison.OrdinalIgnoreCase));
}
