using System.Xml.Linq;

namespace LlmCostTracker.Tests.Unit;

/// <summary>The one direction of references drawn in docs/architecture.md: a project that references another against
/// the arrows fails here, not in a review.</summary>
public sealed class ProjectReferenceTests
{
    /// <summary>Each product project and the projects it may reference (tools, benchmarks and tests may reference any).</summary>
    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["Contracts"] = [],
        ["Pricing"] = ["Contracts"],
        ["Ledger"] = ["Contracts", "Pricing"],
        ["Alerts"] = ["Contracts"],
        ["History"] = ["Contracts", "Ledger"],
        ["ServiceDefaults"] = [],
        ["Messaging"] = ["ServiceDefaults"],
        ["CostTracking"] = ["Contracts"],
        ["ApiService"] = ["Contracts", "Pricing", "Ledger", "History", "Alerts", "Messaging", "ServiceDefaults"],
        ["WorkerService"] = ["Contracts", "Pricing", "Ledger", "History", "Alerts", "Messaging", "ServiceDefaults"],
        ["CostDashboard"] = ["Contracts", "Pricing", "ServiceDefaults"],
        ["AppHost"] = ["ApiService", "WorkerService", "CostDashboard", "Contracts"],
    };

    public static TheoryData<string> Projects => [.. Allowed.Keys];

    [Theory]
    [MemberData(nameof(Projects))]
    public void A_project_references_only_what_the_architecture_allows(string project)
    {
        var file = Path.Combine(RepositoryRoot(), project, $"{project}.csproj");
        var references = XDocument.Load(file).Descendants("ProjectReference")
            .Select(r => Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value.Replace('\\', '/')))
            .ToList();

        Assert.Empty(references.Except(Allowed[project]));
    }

    /// <summary>Source compiled in from outside a project goes around the arrows, so only <c>Shared/</c>'s may be, and
    /// only as internal types (a public one would be part of every assembly that compiles it).</summary>
    [Theory]
    [MemberData(nameof(Projects))]
    public void A_project_compiles_in_only_the_shared_source(string project)
    {
        var file = Path.Combine(RepositoryRoot(), project, $"{project}.csproj");
        var linked = XDocument.Load(file).Descendants("Compile")
            .Select(c => c.Attribute("Include")?.Value.Replace('\\', '/'))
            .OfType<string>()
            .Where(path => path.StartsWith("../", StringComparison.Ordinal));

        Assert.All(linked, path => Assert.StartsWith("../Shared/", path, StringComparison.Ordinal));
    }

    [Fact]
    public void Shared_source_declares_no_public_type() => AssertNoSourceUnder("Shared/", @"(?m)^public ");

    /// <summary>The API's reads and writes in Redis are the ledger's (reports, budgets, holds, prices): a Redis client
    /// in the API would be a second place that knows the key layout.</summary>
    [Fact]
    public void The_API_holds_no_Redis_client() => AssertNoSourceUnder("ApiService/", @"IConnectionMultiplexer|IDatabase\b|GetDatabase\(");

    /// <summary>No C# file under <paramref name="folder"/> (there is at least one) matches <paramref name="pattern"/>.</summary>
    private static void AssertNoSourceUnder(string folder, string pattern)
    {
        var root = RepositoryRoot();
        var files = RepositoryFiles("*.cs").Where(f => f.StartsWith(folder, StringComparison.Ordinal)).ToList();

        Assert.NotEmpty(files);
        Assert.All(files, f => Assert.DoesNotMatch(pattern, File.ReadAllText(Path.Combine(root, f))));
    }

    [Fact]
    public void Every_product_project_is_in_the_picture()
    {
        var products = RepositoryFiles("*.csproj")
            .Where(f => !f.StartsWith("Tests/", StringComparison.Ordinal) && !f.StartsWith("bench/", StringComparison.Ordinal) && !f.StartsWith("eng/", StringComparison.Ordinal))
            .Select(f => f.Split('/')[0]);

        Assert.Empty(products.Except(Allowed.Keys));
    }

    /// <summary>The repository's files named like <paramref name="pattern"/>, outside build output (bin, obj):
    /// relative to its root, with forward slashes.</summary>
    internal static List<string> RepositoryFiles(string pattern)
    {
        var root = RepositoryRoot();
        return
        [
            .. Directory.GetFiles(root, pattern, SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/'))
                .Where(f => !f.Contains("/bin/", StringComparison.Ordinal) && !f.Contains("/obj/", StringComparison.Ordinal)),
        ];
    }

    internal static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Aspire.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Aspire.sln not found above the test binaries.");
    }
}
