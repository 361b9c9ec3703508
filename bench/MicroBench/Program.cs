using BenchmarkDotNet.Running;
using LlmCostTracker.MicroBench;

// dotnet run -c Release --project bench/MicroBench -- --filter '*'   (see BENCHMARKS.md)
// dotnet run -c Release --project bench/MicroBench -- claims        (Redis memory under the dedup window)
if (args is ["claims", ..])
{
    await ClaimsMemoryBench.RunAsync(args);
}
else
{
    BenchmarkSwitcher.FromAssembly(typeof(PricingBenchmarks).Assembly).Run(args);
}
