using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using LlmCostTracker.ApiService.Ingestion;

namespace LlmCostTracker.MicroBench;

/// <summary>Reading an ingestion body: the public record (System.Text.Json's constructor path, an argument array and a
/// box a number) against the settable body the API reads since #36 (<see cref="UsageEventBody"/>), a batch of 1,000
/// events as bench/wrk/batch.lua posts them and a single event, from a stream as the endpoints read.</summary>
[MemoryDiagnoser]
public class RequestReadBenchmarks
{
    private byte[] _batch = [];
    private byte[] _single = [];

    [GlobalSetup]
    public void Setup()
    {
        var events = Enumerable.Range(0, 1000).Select(i =>
            $"{{\"eventId\":\"wrk-1733-0-{i}-{i}\",\"userId\":\"wrk-{i % 2000}\",\"model\":\"gpt-4o\",\"inputTokens\":{50 + i},\"outputTokens\":{50 + i % 950}}}");
        _batch = Encoding.UTF8.GetBytes("{\"events\":[" + string.Join(",", events) + "]}");
        _single = Encoding.UTF8.GetBytes("{\"eventId\":\"wrk-1733-0-1-1\",\"userId\":\"wrk-1\",\"model\":\"gpt-4o\",\"inputTokens\":50,\"outputTokens\":60}");
    }

    [Benchmark(Baseline = true)]
    public async Task<object?> BatchAsRecord() =>
        await JsonSerializer.DeserializeAsync(new MemoryStream(_batch), IngestRequestJson.Context.UsageBatchRequest);

    [Benchmark]
    public async Task<object?> BatchAsBody() =>
        (await JsonSerializer.DeserializeAsync(new MemoryStream(_batch), IngestRequestJson.Context.UsageBatchBody))!.Events!.ConvertAll(e => e!.ToRequest());

    [Benchmark]
    public async Task<object?> SingleAsRecord() =>
        await JsonSerializer.DeserializeAsync(new MemoryStream(_single), IngestRequestJson.Context.UsageEventRequest);

    [Benchmark]
    public async Task<object?> SingleAsBody() =>
        (await JsonSerializer.DeserializeAsync(new MemoryStream(_single), IngestRequestJson.Context.UsageEventBody))!.ToRequest();
}
