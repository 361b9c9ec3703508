using System.Text.Json.Serialization;

namespace LlmCostTracker.Contracts;

/// <summary>A request to reserve the worst-case cost of an LLM call before making it
/// (<c>POST /api/v1/budget-holds</c>). Nullable fields, so a missing one is reported by name; unknown fields are
/// refused (a misspelt <c>maxOutputTokens</c> would otherwise reserve nothing).</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record BudgetHoldRequest(
    string? HoldId,
    string? UserId,
    string? Model,
    long? InputTokens,
    long? MaxOutputTokens,
    string? ServiceTier = null,
    string? Provider = null,
    int? TtlSeconds = null);

/// <summary>A hold as granted (201) or as it stands (200, a repeated holdId): <see cref="HeldUsd"/> is the amount
/// reserved, <see cref="RemainingUsd"/> what the user's month has left to hold after it (budget − spent − held, never
/// below 0; null for a user with no budget), <see cref="State"/> active, settled or released.</summary>
public sealed record BudgetHold(string HoldId, string UserId, decimal HeldUsd, decimal? RemainingUsd, DateTimeOffset ExpiresAt, string State, bool Enforced);

/// <summary>A hold request that passed validation.</summary>
public sealed record ValidHoldRequest(
    string HoldId, string UserId, string Model, long InputTokens, long MaxOutputTokens, string? ServiceTier, string? Provider, TimeSpan Ttl);

/// <summary>The rules for a hold request, pure like <see cref="UsageValidator"/>.</summary>
public static class BudgetHoldValidator
{
    public const int DefaultTtlSeconds = 600;
    public const int MaxTtlSeconds = 3_600;

    /// <summary>A holdId in a route: the userId rules, the problem under <c>holdId</c>.</summary>
    public static bool IsHoldId(string holdId, IDictionary<string, string[]> errors) =>
        UsageValidator.CheckId(holdId, "holdId", required: true, errors) is not null;

    public static ValidHoldRequest? Validate(BudgetHoldRequest? request, Func<string> newHoldId, IDictionary<string, string[]> errors)
    {
        if (request is null)
        {
            errors["body"] = ["A hold object is required."];
            return null;
        }

        var before = errors.Count;
        var userId = UsageValidator.CheckUserId(request.UserId, "userId", errors);
        var holdId = UsageValidator.CheckId(request.HoldId, "holdId", required: false, errors) ?? newHoldId();
        UsageValidator.CheckModel(request.Model, "model", errors);
        var input = UsageValidator.CheckTokens(request.InputTokens, "inputTokens", required: true, errors);
        var output = UsageValidator.CheckTokens(request.MaxOutputTokens, "maxOutputTokens", required: true, errors);
        if (request.MaxOutputTokens == 0)
        {
            errors["maxOutputTokens"] = ["maxOutputTokens must be an integer from 1 to 100,000,000."];
        }

        var tier = UsageValidator.CheckTier(request.ServiceTier, "serviceTier", errors);
        UsageValidator.CheckProvider(request.Provider, "provider", errors);
        var ttl = request.TtlSeconds ?? DefaultTtlSeconds;
        if (ttl is < 1 or > MaxTtlSeconds)
        {
            errors["ttlSeconds"] = [$"ttlSeconds must be an integer from 1 to {MaxTtlSeconds:N0} (default {DefaultTtlSeconds})."];
        }

        if (errors.Count != before)
        {
            return null;
        }

        return new ValidHoldRequest(holdId, userId!, request.Model!, input, output, tier, request.Provider, TimeSpan.FromSeconds(ttl));
    }
}
