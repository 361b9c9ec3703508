using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using LlmCostTracker.Ledger;

namespace LlmCostTracker.MicroBench;

/// <summary>The claim digest the worker makes for every event (<see cref="ClaimWindow.Digest"/>): SHA-256 of
/// <c>userId|eventId</c>, which .NET computes through OpenSSL on Linux. Beside it, two ways to call it that keep the
/// same digest: one hash object a thread, reset after each (no context made per call), and the one-shot call
/// without the intermediate string and arrays. (#36: the worker's CPU an event.)</summary>
[MemoryDiagnoser]
public class ClaimDigestBenchmarks
{
    private const string User = "bench-1733472000-u1234";
    private const string EventId = "otlp:4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7";

    [ThreadStatic] private static IncrementalHash? t_sha;

    [Benchmark(Baseline = true)]
    public byte[] OneShot() => ClaimWindow.Digest(User, EventId);

    [Benchmark]
    public byte[] Reused()
    {
        var sha = t_sha ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> text = stackalloc byte[512];
        var n = Encoding.UTF8.GetBytes(User, text);
        text[n++] = (byte)'|';
        n += Encoding.UTF8.GetBytes(EventId, text[n..]);
        sha.AppendData(text[..n]);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        sha.GetHashAndReset(hash);
        return hash[..16].ToArray();
    }

    [Benchmark]
    public byte[] OneShotNoCopies()
    {
        Span<byte> text = stackalloc byte[512];
        var n = Encoding.UTF8.GetBytes(User, text);
        text[n++] = (byte)'|';
        n += Encoding.UTF8.GetBytes(EventId, text[n..]);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(text[..n], hash);
        return hash[..16].ToArray();
    }
}
