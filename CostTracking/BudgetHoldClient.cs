using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using LlmCostTracker.Contracts;

namespace LlmCostTracker.CostTracking;

/// <summary>Asks the tracker API for budget holds (<c>POST /api/v1/budget-holds</c>) and releases them.</summary>
public interface IBudgetHoldClient
{
    /// <summary>The hold granted. Throws <see cref="BudgetExceededException"/> when the user's enforced budget has no
    /// room for it, and <see cref="BudgetHoldUnavailableException"/> when the API gave no usable answer.</summary>
    Task<BudgetHold> HoldAsync(BudgetHoldRequest request, CancellationToken ct);

    /// <summary>Releases a hold whose call failed (an unknown, expired or settled one is not an error).</summary>
    Task ReleaseAsync(string holdId, CancellationToken ct);
}

/// <summary>The user's enforced budget has no room for the call: it was not made. Not worth a retry this month,
/// unless the budget is raised or holds are released.</summary>
public sealed class BudgetExceededException(string userId, decimal? remainingUsd, decimal? requestedUsd, string message) : Exception(message)
{
    public string UserId { get; } = userId;

    public decimal? RemainingUsd { get; } = remainingUsd;

    public decimal? RequestedUsd { get; } = requestedUsd;
}

/// <summary>No hold could be had (the API did not answer within the bound, or failed), and the middleware is
/// configured to fail closed: the call was not made.</summary>
public sealed class BudgetHoldUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

public sealed class HttpBudgetHoldClient(HttpClient http) : IBudgetHoldClient
{
    public const string HoldsPath = "api/v1/budget-holds";

    public async Task<BudgetHold> HoldAsync(BudgetHoldRequest request, CancellationToken ct)
    {
        HttpResponseMessage response;
        try
        {
            response = await http.PostAsJsonAsync(HoldsPath, request, ct);
        }
        catch (HttpRequestException ex)
        {
            throw new BudgetHoldUnavailableException($"The budget hold request failed: {ex.Message}", ex);
        }

        using (response)
        {
            if (response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK)
            {
                return await response.Content.ReadFromJsonAsync<BudgetHold>(ct)
                    ?? throw new BudgetHoldUnavailableException("The budget hold answer was empty.");
            }

            var problem = await response.Content.ReadAsStringAsync(ct);
            if (response.StatusCode == HttpStatusCode.PaymentRequired)
            {
                using var json = JsonDocument.Parse(problem);
                throw new BudgetExceededException(request.UserId ?? "", Decimal(json, "remainingUsd"), Decimal(json, "requestedUsd"),
                    json.RootElement.TryGetProperty("detail", out var detail) ? detail.GetString() ?? "Budget exceeded." : "Budget exceeded.");
            }

            throw new BudgetHoldUnavailableException($"The budget hold request answered {(int)response.StatusCode}: {problem}");
        }
    }

    public async Task ReleaseAsync(string holdId, CancellationToken ct)
    {
        using var response = await http.DeleteAsync($"{HoldsPath}/{Uri.EscapeDataString(holdId)}", ct);
        if (!response.IsSuccessStatusCode && response.StatusCode is not (HttpStatusCode.NotFound or HttpStatusCode.Conflict))
        {
            throw new BudgetHoldUnavailableException($"Releasing hold {holdId} answered {(int)response.StatusCode}.");
        }
    }

    private static decimal? Decimal(JsonDocument json, string name) =>
        json.RootElement.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDecimal() : null;
}

/// <summary>Estimates a call's input tokens before it is made, for its budget hold.</summary>
public interface IInputTokenEstimator
{
    long Estimate(IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages, Microsoft.Extensions.AI.ChatOptions? options);
}

/// <summary>The default estimate: the characters of the messages' text / 4, rounded up (about right for English
/// with OpenAI's and Anthropic's tokenizers; replace it where a tokenizer is at hand).</summary>
public sealed class CharacterInputTokenEstimator : IInputTokenEstimator
{
    public static readonly CharacterInputTokenEstimator Instance = new();

    public long Estimate(IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages, Microsoft.Extensions.AI.ChatOptions? options)
    {
        long characters = 0;
        foreach (var message in messages)
        {
            characters += message.Text.Length;
        }

        characters += options?.Instructions?.Length ?? 0;
        return Math.Min((characters + 3) / 4, UsageValidator.MaxTokens);
    }
}
