using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/MicroBench -- --filter '*'   (see BENCHMARKS.md)
BenchmarkSwitcher.FromAssembly(typeof(LlmCostTracker.MicroBench.PricingBenchmarks).Assembly).Run(args);
