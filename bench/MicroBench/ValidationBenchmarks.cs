using BenchmarkDotNet.Attributes;
using LlmCostTracker.Contracts;

namespace LlmCostTracker.MicroBench;

[MemoryDiagnoser]
public class ValidationBenchmarks
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private static readonly UsageEventRequest Valid = new("chatcmpl-8abc123", "alice@example.com", "gpt-4o-2024-08-06", 1_200, 350, 200, Now);
    private static readonly UsageEventRequest Invalid = new("evt 1", "alice example", "", -1, 350, 200, Now.AddDays(-40));

    [Benchmark(Baseline = true)]
    public LlmUsage? ValidEvent() => UsageValidator.Validate(Valid, Now, () => "id", "", new Dictionary<string, string[]>());

    [Benchmark]
    public LlmUsage? InvalidEvent() => UsageValidator.Validate(Invalid, Now, () => "id", "", new Dictionary<string, string[]>());
}
