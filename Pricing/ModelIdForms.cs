using System.Text.RegularExpressions;

namespace LlmCostTracker.Pricing;

/// <summary>The forms under which clouds and routers name the same model, and nothing looser: each strips a
/// wrapper that never changes the model (a router's prefix, a Bedrock region or version, a Vertex <c>@version</c>,
/// a snapshot date). A relative (<c>claude-opus-4-7</c> of <c>claude-opus-4</c>, <c>o3-pro</c> of <c>o3</c>) is
/// never one of them: an id whose forms are all unlisted gets the fallback and is reported.</summary>
public static partial class ModelIdForms
{
    /// <summary>Routing prefixes (LiteLLM's, routers' and <c>gen_ai.provider.name</c>s) and the provider each means.
    /// <c>meta-llama/</c>, <c>qwen/</c> and the like are not here: they are part of Groq's, Together's or
    /// OpenRouter's own ids.</summary>
    private static readonly Dictionary<string, string> Prefixes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["openai"] = "openai",
        ["text-completion-openai"] = "openai",
        ["azure"] = "azure.ai.openai",
        ["azure_ai"] = "azure.ai.inference",
        ["anthropic"] = "anthropic",
        ["bedrock"] = "aws.bedrock",
        ["bedrock_converse"] = "aws.bedrock",
        ["aws.bedrock"] = "aws.bedrock",
        ["vertex_ai"] = "gcp.vertex_ai",
        ["gcp.vertex_ai"] = "gcp.vertex_ai",
        ["gemini"] = "gcp.gemini",
        ["gcp.gemini"] = "gcp.gemini",
        ["xai"] = "x_ai",
        ["x_ai"] = "x_ai",
        ["mistral"] = "mistral_ai",
        ["mistral_ai"] = "mistral_ai",
        ["codestral"] = "mistral_ai",
        ["deepseek"] = "deepseek",
        ["groq"] = "groq",
        ["together_ai"] = "together",
        ["together"] = "together",
        ["fireworks_ai"] = "fireworks",
        ["fireworks"] = "fireworks",
        ["cohere"] = "cohere",
        ["cohere_chat"] = "cohere",
        ["perplexity"] = "perplexity",
        ["openrouter"] = "openrouter",
        ["dashscope"] = "dashscope",
        ["amazon_nova"] = "amazon_nova",
        ["cerebras"] = "cerebras",
        ["moonshot"] = "moonshot",
        ["voyage"] = "voyage",
    };

    public static IReadOnlyDictionary<string, string> RoutingPrefixes => Prefixes;

    private static readonly string[] BedrockRegions = ["us.", "eu.", "apac.", "ap.", "global.", "us-gov.", "jp.", "au.", "ca."];
    private static readonly string[] BedrockVendors =
        ["anthropic.", "openai.", "google.", "meta.", "amazon.", "mistral.", "cohere.", "deepseek.", "qwen.", "ai21.", "writer.", "moonshot.", "minimax.", "twelvelabs."];

    private const string FireworksAccount = "accounts/fireworks/models/";

    /// <summary>The id without its first routing prefix, and the provider it named; null when it has none.</summary>
    public static (string Id, string Provider)? StripRoutingPrefix(string id)
    {
        var slash = id.IndexOf('/');
        if (slash <= 0 || slash == id.Length - 1)
        {
            return null;
        }

        var lookup = Prefixes.GetAlternateLookup<ReadOnlySpan<char>>();
        return lookup.TryGetValue(id.AsSpan(0, slash), out var provider) ? (id[(slash + 1)..], provider) : null;
    }

    /// <summary>The id's cloud forms, most specific first: a Bedrock id without its version, then without its region,
    /// then the maker's own id; a Vertex id without its <c>@version</c>; a Fireworks id without its account path.</summary>
    public static IEnumerable<string> CloudForms(string id)
    {
        if (id.StartsWith(FireworksAccount, StringComparison.OrdinalIgnoreCase))
        {
            yield return id[FireworksAccount.Length..];
            yield break;
        }

        var at = id.IndexOf('@');
        if (at > 0)
        {
            yield return id[..at];
            yield break;
        }

        var rest = id;
        var region = BedrockRegions.FirstOrDefault(r => rest.StartsWith(r, StringComparison.OrdinalIgnoreCase)
            && BedrockVendors.Any(v => rest.AsSpan(r.Length).StartsWith(v, StringComparison.OrdinalIgnoreCase)));
        var vendorAt = region?.Length ?? 0;
        var vendor = BedrockVendors.FirstOrDefault(v => rest.AsSpan(vendorAt).StartsWith(v, StringComparison.OrdinalIgnoreCase));
        if (vendor is null)
        {
            yield break;
        }

        var unversioned = BedrockVersion().Replace(id, "", 1);
        if (unversioned != id)
        {
            yield return unversioned;
        }

        if (region is not null)
        {
            yield return id[region.Length..];
            if (unversioned != id)
            {
                yield return unversioned[region.Length..];
            }
        }

        yield return unversioned[(vendorAt + vendor.Length)..];
    }

    /// <summary>The id without one snapshot suffix (<c>-2025-08-07</c>, <c>-20250929</c>, <c>-latest</c>,
    /// <c>-preview-06-17</c>, <c>-preview-09-2025</c>, <c>-001</c>), or null when it has none. <c>-2512</c> is not one:
    /// Mistral names different models so (<c>mistral-large-2411</c> and <c>mistral-large-2512</c>).</summary>
    public static string? StripSnapshot(string id)
    {
        var match = Snapshot().Match(id);
        return match.Success && match.Index > 0 ? id[..match.Index] : null;
    }

    // Bedrock's version: -v1:0, -v2, -v1:0:200k, -v1.
    [GeneratedRegex(@"-v\d+(:\d+)?(:\d+k)?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex BedrockVersion();

    [GeneratedRegex(@"(-\d{4}-\d{2}-\d{2}|-\d{8}|-latest|-preview-\d{2}-\d{2}|-preview-\d{2}-\d{4}|-\d{3})$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Snapshot();
}
