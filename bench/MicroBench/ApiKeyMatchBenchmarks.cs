using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using LlmCostTracker.ApiService.Security;

namespace LlmCostTracker.MicroBench;

/// <summary>The ingest key check every API request makes (<see cref="ApiKeyAuthenticationHandler.Matches"/>): the
/// key's UTF-8 compared in constant time now, against SHA-256 of the presented key compared with the expected key's
/// hash as before (OpenSSL's per-call cost). (#36: the API's CPU a request.)</summary>
[MemoryDiagnoser]
public class ApiKeyMatchBenchmarks
{
    // 32 characters, as the AppHost generates them.
    private const string Key = "k3yabcdefghijklmnopqrstuvwxyz012";
    private static readonly byte[] ExpectedHash = SHA256.HashData(Encoding.UTF8.GetBytes(Key));
    private static readonly byte[] Expected = Encoding.UTF8.GetBytes(Key);

    [Benchmark(Baseline = true)]
    public bool Sha256AsBefore() => CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(Key)), ExpectedHash);

    [Benchmark]
    public bool Utf8() => ApiKeyAuthenticationHandler.Matches(Key, Expected);
}
