using BenchmarkDotNet.Attributes;
using LlmCostTracker.Ledger;

namespace LlmCostTracker.MicroBench;

/// <summary>The claim digest the worker makes for every event (<see cref="ClaimWindow.Digest"/>): XXH128 of
/// <c>userId|eventId</c> now, against the first half of its SHA-256 as before (which .NET computes through OpenSSL on
/// Linux, where the cost is the call's rather than the hashing's), and both forms joined, as made while a ledger's claim form changes.
/// (#36: the worker's CPU an event.)</summary>
[MemoryDiagnoser]
public class ClaimDigestBenchmarks
{
    private const string User = "bench-1733472000-u1234";
    private const string EventId = "otlp:4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7";

    [Benchmark(Baseline = true)]
    public byte[] Sha256AsBefore() => ClaimWindow.LegacyDigest(User, EventId);

    [Benchmark]
    public byte[] XxHash128() => ClaimWindow.Digest(User, EventId);

    [Benchmark]
    public byte[] BothForms() => ClaimWindow.BothForms(User, EventId);
}
