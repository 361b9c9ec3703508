using System.ComponentModel.DataAnnotations;

namespace LlmCostTracker.WorkerService.Pricing;

/// <summary>USD per 1M tokens. <see cref="CachedInput"/> defaults to <see cref="Input"/>.</summary>
public sealed class ModelPrice
{
    [Range(typeof(decimal), "0", "1000000")]
    public decimal Input { get; set; }

    [Range(typeof(decimal), "0", "1000000")]
    public decimal Output { get; set; }

    [Range(typeof(decimal), "0", "1000000")]
    public decimal? CachedInput { get; set; }

    public decimal CachedInputOrInput => CachedInput ?? Input;
}

public sealed class PricingOptions
{
    public const string SectionName = "Pricing";

    /// <summary>Known models and families, by id (matched case-insensitively).</summary>
    [Required]
    public Dictionary<string, ModelPrice> Models { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The price of a model that resolves to nothing known: never a silent $0.</summary>
    [Required]
    public ModelPrice Fallback { get; set; } = new();
}
