using System.Security.Cryptography;
using System.Text;

namespace LlmCostTracker.Alerts;

/// <summary>Standard Webhooks' signature: <c>v1,</c> + base64 of HMAC-SHA256 over <c>{webhook-id}.{webhook-timestamp}.{body}</c>,
/// keyed with the base64 part of a <c>whsec_</c> secret.</summary>
public static class WebhookSignature
{
    public const string SecretPrefix = "whsec_";

    /// <summary>The HMAC key of a <c>whsec_...</c> secret, or null when it is not one.</summary>
    public static byte[]? KeyOf(string secret)
    {
        if (!secret.StartsWith(SecretPrefix, StringComparison.Ordinal))
        {
            return null;
        }

        var encoded = secret[SecretPrefix.Length..];
        var key = new byte[encoded.Length];
        return encoded.Length > 0 && Convert.TryFromBase64String(encoded, key, out var written) ? key[..written] : null;
    }

    public static string Sign(byte[] key, string webhookId, long timestamp, string body) =>
        "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{webhookId}.{timestamp}.{body}")));
}
