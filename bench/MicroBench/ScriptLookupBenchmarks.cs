using System.Collections;
using BenchmarkDotNet.Attributes;
using LlmCostTracker.Ledger;
using LlmCostTracker.Ledger.Holds;
using LlmCostTracker.WorkerService.Aggregation;

namespace LlmCostTracker.MicroBench;

/// <summary>What StackExchange.Redis does on every call given a script's text, and RedisScript.EvaluateAsync no longer
/// asks of it: it finds the script's SHA1 in a table keyed by the whole text (a Hashtable with the ordinal comparer),
/// so each call hashes the text. For the worker's ledger write (apply-usage) and the API's budget hold. (#36)</summary>
[MemoryDiagnoser]
public class ScriptLookupBenchmarks
{
    private readonly Hashtable _known = new(StringComparer.Ordinal);

    [GlobalSetup]
    public void Setup()
    {
        foreach (var script in new[] { ApplyUsageCall.Script, BudgetHoldCall.Script })
        {
            _known[script.Text] = script.Hash;
        }
    }

    [Benchmark]
    public object? ApplyUsageByText() => _known[ApplyUsageCall.Script.Text];

    [Benchmark]
    public object? BudgetHoldByText() => _known[BudgetHoldCall.Script.Text];
}
