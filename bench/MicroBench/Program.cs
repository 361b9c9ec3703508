using BenchmarkDotNet.Running;
using LlmCostTracker.MicroBench;

// dotnet run -c Release --project bench/MicroBench -- --filter '*'   (see BENCHMARKS.md)
// dotnet run -c Release --project bench/MicroBench -- claims        (Redis memory under the dedup window)
// dotnet run -c Release --project bench/MicroBench -- catalog-load [catalog.json]   (the catalog's cost at start)
// dotnet run -c Release --project bench/MicroBench -- ledger-cpu [events a write] [writes] [rounds] [users]   (Redis CPU an event)
if (args is ["claims", ..])
{
    await ClaimsMemoryBench.RunAsync(args);
}
else if (args is ["ledger-cpu", ..])
{
    await LedgerCpuBench.RunAsync(args);
}
else if (args is ["catalog-load", ..])
{
    CatalogLoadBench.Run(args);
}
else
{
    BenchmarkSwitcher.FromAssembly(typeof(PricingBenchmarks).Assembly).Run(args);
}
