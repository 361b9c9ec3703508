using System.Security.Cryptography;
using System.Text;

namespace LlmCostTracker.CostDashboard.Security;

/// <summary>The admin key (<c>Admin:ApiKey</c>, from the AppHost's <c>admin-api-key</c>): what a sign-in is checked
/// against, and what the dashboard sends to the admin API. It stays on the server.</summary>
public sealed class AdminKey(IConfiguration configuration)
{
    private readonly byte[] _hash = SHA256.HashData(Encoding.UTF8.GetBytes(configuration["Admin:ApiKey"] ?? ""));

    public string Value { get; } = configuration["Admin:ApiKey"] ?? "";

    /// <summary>Compares in constant time (over hashes, so the length leaks nothing either); an unset key matches
    /// nothing.</summary>
    public bool Matches(string? candidate) =>
        Value.Length > 0 && candidate is { Length: > 0 } && CryptographicOperations.FixedTimeEquals(_hash, SHA256.HashData(Encoding.UTF8.GetBytes(candidate)));
}
