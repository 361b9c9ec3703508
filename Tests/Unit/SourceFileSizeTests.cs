namespace LlmCostTracker.Tests.Unit;

/// <summary>Where issue #32 drew the line for C#: a product file past 300 lines has more than one job. Split it by job,
/// or a type by part into partial files (<c>ApplyUsageCall.Layout.cs</c>, <c>LedgerKeys.Pricing.cs</c>). The tests and
/// the load benchmark (<c>bench/</c>, a measuring tool run by hand) are outside it.</summary>
public sealed class SourceFileSizeTests
{
    private const int MaxLines = 300;

    [Fact]
    public void No_product_source_file_is_over_300_lines()
    {
        var files = ProjectReferenceTests.RepositoryFiles("*.cs")
            .Where(f => !f.StartsWith("Tests/", StringComparison.Ordinal) && !f.StartsWith("bench/", StringComparison.Ordinal))
            .ToList();

        Assert.Contains("Ledger/LedgerKeys.cs", files);
        AssertNoneLonger(files, MaxLines);
    }

    /// <summary>Fails naming every one of <paramref name="files"/> (relative to the repository) past
    /// <paramref name="maxLines"/>.</summary>
    internal static void AssertNoneLonger(IEnumerable<string> files, int maxLines)
    {
        var root = ProjectReferenceTests.RepositoryRoot();
        var tooLong = files.Select(f => (File: f, Lines: File.ReadLines(Path.Combine(root, f)).Count())).Where(f => f.Lines > maxLines).ToList();
        Assert.True(tooLong.Count == 0, $"Over {maxLines} lines: {string.Join(", ", tooLong.Select(f => $"{f.File} ({f.Lines})"))}");
    }
}
