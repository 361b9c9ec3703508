using System.ComponentModel.DataAnnotations;

namespace LlmCostTracker.Contracts;

/// <summary>Cost attribution by tags (section <c>Attribution</c>), read by the API (validation, reports) and the worker
/// (aggregation, the cardinality guard, tag budgets); the AppHost hands both the same values.</summary>
public sealed class AttributionOptions
{
    public const string SectionName = "Attribution";

    public const int MaxDimensions = 8;
    public const int MaxTagsPerEvent = 5;

    /// <summary>The tag dimensions usage may carry. Empty in configuration means <see cref="DefaultDimensions"/> (an
    /// array initialiser here would be appended to by the configuration binder, not replaced).</summary>
    public string[] Dimensions { get; set; } = [];

    public static readonly string[] DefaultDimensions = ["team", "feature", "environment"];

    /// <summary>Distinct values counted per dimension and month; usage with a value past it is counted under
    /// <see cref="TagValidator.OtherValue"/>, so one runaway tag (a request id used as a value) cannot fill Redis.</summary>
    [Range(1, 1_000_000)]
    public int MaxValuesPerDimension { get; set; } = 10_000;

    /// <summary>How often the worker folds each bucket's tag deltas into its tag values (worker only): tag reports and
    /// tag budget alerts lag the user rows by up to about this much. Each fold writes every tag value, and every user
    /// of it, that the deltas touched once, whatever the number of ledger writes they came from, so a longer interval
    /// costs Redis less under load (BENCHMARKS.md, "Cost by tag", has the figures). The buckets'
    /// folds are spread over the interval.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan FoldInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Most deltas (one per ledger call with tags) one fold takes from a bucket; a bucket with more waiting is
    /// folded again at once.</summary>
    [Range(1, 10_000)]
    public int FoldBatch { get; set; } = 200;

    /// <summary>Applies the default dimensions and puts them in order without repeats.</summary>
    public void Normalize() =>
        Dimensions = [.. (Dimensions.Length == 0 ? DefaultDimensions : Dimensions).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    /// <summary>Every problem of the configured dimensions, each naming its key.</summary>
    public IEnumerable<string> Problems()
    {
        if (Dimensions.Length > MaxDimensions)
        {
            yield return $"Attribution:Dimensions lists {Dimensions.Length} dimensions; at most {MaxDimensions} can be configured.";
        }

        for (var i = 0; i < Dimensions.Length; i++)
        {
            if (!TagValidator.IsDimensionName(Dimensions[i]))
            {
                yield return $"Attribution:Dimensions:{i} ('{Dimensions[i]}') must be 1 to {TagValidator.MaxDimensionLength} characters from lowercase letters, digits, _ and -, starting with a letter.";
            }
        }
    }
}
