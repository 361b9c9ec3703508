using LlmCostTracker.Ledger;

namespace LlmCostTracker.Tests.Unit;

/// <summary>Every ledger script in one room (<c>Ledger/Scripts/</c>), each file short enough to read, and each loaded
/// after the shared prelude.</summary>
public sealed class LedgerScriptFilesTests
{
    /// <summary>Where issue #32 drew the line: a Lua file past it has more than one job.</summary>
    private const int MaxLines = 200;

    [Fact]
    public void Every_product_script_lives_in_the_ledger_and_stays_short()
    {
        var root = ProjectReferenceTests.RepositoryRoot();
        var scripts = Directory.GetFiles(root, "*.lua", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/'))
            // bench/wrk holds the load generator's scripts, not the ledger's; build output holds copies.
            .Where(f => !f.StartsWith("bench/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal) && !f.Contains("/obj/", StringComparison.Ordinal))
            .ToList();

        Assert.NotEmpty(scripts);
        Assert.All(scripts, f => Assert.StartsWith("Ledger/Scripts/", f, StringComparison.Ordinal));
        Assert.All(scripts, f => Assert.True(File.ReadLines(Path.Combine(root, f)).Count() <= MaxLines, $"{f} has more than {MaxLines} lines"));
    }

    [Fact]
    public void A_script_is_the_prelude_then_its_file_then_its_sections_in_order()
    {
        var script = RedisScript.Load("apply-usage.lua", "apply-usage-claims.lua", "apply-usage-helpers.lua", "apply-usage-users.lua", "apply-usage-month.lua");

        Assert.Equal("apply-usage.lua", script.Name);
        Assert.StartsWith("-- The helpers every ledger script shares", script.Text, StringComparison.Ordinal);
        string[] order = ["local function addToField(", "local function take()", "-- apply-usage, section 2 of 5", "-- apply-usage, section 3 of 5",
            "-- apply-usage, section 4 of 5", "-- apply-usage, section 5 of 5"];
        var positions = order.Select(marker => script.Text.IndexOf(marker, StringComparison.Ordinal)).ToList();
        Assert.All(positions, p => Assert.True(p >= 0));
        Assert.Equal(positions.Order(), positions);
        Assert.Throws<InvalidOperationException>(() => RedisScript.Load("no-such-script.lua"));
    }
}
