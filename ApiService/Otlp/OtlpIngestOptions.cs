using System.ComponentModel.DataAnnotations;
using LlmCostTracker.Contracts;

namespace LlmCostTracker.ApiService.Otlp;

/// <summary>How OTLP trace exports become usage events (<c>OtlpIngest</c> section).</summary>
public sealed class OtlpIngestOptions
{
    public const string SectionName = "OtlpIngest";

    /// <summary>The user of a usage span that names none (no <c>user.id</c> or <c>enduser.id</c> on the span or its
    /// resource): its cost is still counted, under this id.</summary>
    [Required]
    public string DefaultUser { get; set; } = "(unattributed)";

    /// <summary>Span or resource attribute → tag dimension. The span's attribute wins over its resource's. A mapping to
    /// an empty dimension is off (how a default is removed); a dimension that is not configured
    /// (<c>Attribution:Dimensions</c>) is refused at start. <c>llmcost.tag.&lt;dimension&gt;</c> attributes always
    /// map to their dimension.</summary>
    public Dictionary<string, string> Tags { get; set; } = new(StringComparer.Ordinal)
    {
        ["deployment.environment.name"] = "environment",
        ["service.name"] = "feature",
    };

    /// <summary>Providers (<c>gen_ai.provider.name</c> / <c>gen_ai.system</c>) whose spans in the older attribute
    /// names (<c>gen_ai.usage.prompt_tokens</c>) report input without cache reads and writes, as the provider's own
    /// API does: their cache counts are added to the input. Spans in the current names follow the GenAI conventions
    /// (input includes the cache); any span whose cache counts exceed its input is read as exclusive too.</summary>
    public string[] ExclusiveInputProviders { get; set; } = ["anthropic"];

    /// <summary>Largest export accepted, in bytes after decompression (OTLP/HTTP) or as a gRPC message; 413 or
    /// RESOURCE_EXHAUSTED past it.</summary>
    [Range(1_024, 256 * 1024 * 1024)]
    public int MaxRequestBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Most spans in one export (of any kind, with usage or not); 413 or RESOURCE_EXHAUSTED past it.</summary>
    [Range(1, 1_000_000)]
    public int MaxSpansPerRequest { get; set; } = 10_000;

    /// <summary>The problems of these options with the configured tag dimensions, none when they are valid.</summary>
    public IEnumerable<string> Problems(IReadOnlyCollection<string> dimensions)
    {
        if (!UsageValidator.IsUserId(DefaultUser))
        {
            yield return $"OtlpIngest:DefaultUser '{DefaultUser}' is not a valid user id.";
        }

        foreach (var (attribute, dimension) in Tags)
        {
            if (dimension.Length > 0 && !dimensions.Contains(dimension))
            {
                yield return $"OtlpIngest:Tags maps '{attribute}' to '{dimension}', which is not one of Attribution:Dimensions ({string.Join(", ", dimensions)}).";
            }
        }
    }
}
