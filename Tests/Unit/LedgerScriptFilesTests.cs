using LlmCostTracker.History.Repricing;
using LlmCostTracker.Ledger;
using LlmCostTracker.Ledger.Budgets;
using LlmCostTracker.Ledger.Holds;
using LlmCostTracker.Ledger.Tags;
using LlmCostTracker.WorkerService.Aggregation;

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
        // bench/wrk holds the load generator's scripts, not the ledger's.
        var scripts = ProjectReferenceTests.RepositoryFiles("*.lua").Where(f => !f.StartsWith("bench/", StringComparison.Ordinal)).ToList();

        Assert.NotEmpty(scripts);
        Assert.All(scripts, f => Assert.StartsWith("Ledger/Scripts/", f, StringComparison.Ordinal));
        SourceFileSizeTests.AssertNoneLonger(scripts, MaxLines);
    }

    [Fact]
    public void A_script_is_the_prelude_then_its_file_then_its_sections_in_order()
    {
        var script = RedisScript.Load("apply-usage.lua", "apply-usage-claims.lua", "apply-usage-helpers.lua", "apply-usage-users.lua", "apply-usage-month.lua");

        Assert.Equal("apply-usage.lua", script.Name);
        Assert.StartsWith("-- The helpers every ledger script shares", script.Text, StringComparison.Ordinal);
        string[] order = ["local function addToField(", "local function userKeys(", "-- apply-usage, section 2 of 5", "-- apply-usage, section 3 of 5",
            "-- apply-usage, section 4 of 5", "-- apply-usage, section 5 of 5"];
        var positions = order.Select(marker => script.Text.IndexOf(marker, StringComparison.Ordinal)).ToList();
        Assert.All(positions, p => Assert.True(p >= 0));
        Assert.Equal(positions.Order(), positions);
        Assert.Throws<InvalidOperationException>(() => RedisScript.Load("no-such-script.lua"));
    }

    private enum TwoNames { First, Second }

    private enum Gapped { First, Third = 2 }

    [Fact]
    public void A_named_script_starts_with_a_Lua_table_per_enum_counting_from_one()
    {
        var script = RedisScript.Load("budget-holds.lua").Naming(typeof(TwoNames));

        Assert.StartsWith("local TwoNames = { First = 1, Second = 2 }\n-- The helpers every ledger script shares", script.Text, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => RedisScript.Load("budget-holds.lua").Naming(typeof(Gapped)));
    }

    [Theory]
    [InlineData("budget-holds.lua", typeof(BudgetHoldCall))]
    [InlineData("mark-alert-sent.lua", typeof(MarkAlertSentCall))]
    [InlineData("reevaluate-budget.lua", typeof(ReevaluateBudgetCall))]
    [InlineData("apply-usage*.lua", typeof(ApplyUsageCall))]
    [InlineData("admit-tags.lua", typeof(AdmitTagsCall))]
    [InlineData("fold-tags.lua", typeof(FoldTagsCall))]
    [InlineData("reprice-ledger.lua", typeof(RepriceLedgerCall))]
    public void A_named_script_uses_only_names_its_call_defines_and_no_position(string files, Type call)
    {
        // A script cut into sections is checked in all of them.
        var text = string.Concat(Directory.GetFiles(Path.Combine(ProjectReferenceTests.RepositoryRoot(), "Ledger/Scripts"), files).Select(File.ReadAllText));
        var layouts = call.GetNestedTypes().Where(t => t.IsEnum).ToList();
        var loaded = (RedisScript)call.GetField("Script")!.GetValue(null)!;

        var used = System.Text.RegularExpressions.Regex.Matches(text, $@"\b({string.Join('|', layouts.Select(l => l.Name))})\.(\w+)")
            .Select(m => (Layout: m.Groups[1].Value, Name: m.Groups[2].Value)).ToList();
        Assert.NotEmpty(used);
        Assert.All(used, u => Assert.Contains(u.Name, Enum.GetNames(layouts.Single(l => l.Name == u.Layout))));
        Assert.DoesNotMatch(@"(KEYS|ARGV)\[\d", text);
        Assert.All(layouts, l => Assert.Contains($"local {l.Name} = {{ ", loaded.Text, StringComparison.Ordinal));
    }
}
