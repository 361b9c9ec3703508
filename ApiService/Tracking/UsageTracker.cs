using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using LlmCostTracker.ApiService.Ingestion;
using LlmCostTracker.Contracts;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace LlmCostTracker.ApiService.Tracking;

/// <summary>Usage as code inside our services reports it (the original design's <c>track_llm_cost</c>).</summary>
public sealed record TrackedUsage(
    string UserId,
    string Model,
    long InputTokens,
    long OutputTokens,
    long CachedInputTokens = 0,
    string? EventId = null,
    DateTimeOffset? OccurredAt = null);

public sealed class TrackerOptions
{
    public const string SectionName = "Tracker";

    /// <summary>Events buffered in memory; beyond it new events are dropped (counted and logged).</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 10_000_000)]
    public int Capacity { get; set; } = 100_000;
}

/// <summary>In-process cost tracking that never throws and never blocks: <see cref="Track"/> validates and
/// buffers; a background loop publishes through the same confirmed path as the HTTP API, retrying with backoff
/// while the broker is away, and drains the buffer on graceful shutdown.</summary>
public sealed class UsageTracker : IHostedService
{
    private const int MaxEventsPerPublish = 1_000;
    private readonly Channel<LlmUsage> _buffer;
    private readonly UsagePublisher _publisher;
    private readonly TimeProvider _clock;
    private readonly ILogger<UsageTracker> _logger;
    private readonly Counter<long> _dropped;
    private readonly ResiliencePipeline _retry;
    private readonly CancellationTokenSource _abort = new();
    private Task _loop = Task.CompletedTask;
    private long _lastDropLog;

    public UsageTracker(UsagePublisher publisher, TimeProvider clock, IOptions<TrackerOptions> options, IMeterFactory meters, ILogger<UsageTracker> logger)
    {
        _publisher = publisher;
        _clock = clock;
        _logger = logger;
        _buffer = Channel.CreateBounded<LlmUsage>(new BoundedChannelOptions(options.Value.Capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        var meter = meters.Create(IngestMetrics.MeterName);
        _dropped = meter.CreateCounter<long>("llmcost.tracker.dropped", "{event}", "Tracked usage dropped: buffer full, invalid, or after shutdown.");
        meter.CreateObservableGauge("llmcost.tracker.buffer_depth", () => (long)_buffer.Reader.Count, "{event}", "Tracked usage waiting for the broker.");
        _retry = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<BrokerUnavailableException>(),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(200),
                MaxDelay = TimeSpan.FromSeconds(10),
            })
            .Build();
    }

    /// <summary>Buffers one event for publishing. Returns false (and counts a drop) when the event is invalid,
    /// the buffer is full or the service is shutting down; never throws.</summary>
    public bool Track(TrackedUsage usage)
    {
        try
        {
            var errors = new Dictionary<string, string[]>();
            var request = new UsageEventRequest(usage.EventId, usage.UserId, usage.Model, usage.InputTokens, usage.OutputTokens, usage.CachedInputTokens, usage.OccurredAt);
            var valid = UsageValidator.Validate(request, _clock.GetUtcNow(), () => Guid.CreateVersion7().ToString("N"), "", errors);
            if (valid is null)
            {
                Drop("invalid", string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(' ', e.Value)}")));
                return false;
            }

            if (_buffer.Writer.TryWrite(valid with { TraceParent = Activity.Current?.Id }))
            {
                return true;
            }

            Drop("buffer_full", null);
            return false;
        }
        catch (Exception ex)
        {
            Drop("error", ex.Message);
            return false;
        }
    }

    public int BufferedCount => _buffer.Reader.Count;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(() => PublishLoopAsync(_abort.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>Stops accepting, then publishes what is buffered until the host's shutdown timeout.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _buffer.Writer.TryComplete();
        try
        {
            await _loop.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            _logger.LogWarning("Shutdown timed out with {Count} tracked usage events unpublished", _buffer.Reader.Count);
        }
        finally
        {
            await _abort.CancelAsync();
        }
    }

    private async Task PublishLoopAsync(CancellationToken abort)
    {
        var batch = new List<LlmUsage>(MaxEventsPerPublish);
        try
        {
            while (await _buffer.Reader.WaitToReadAsync(abort))
            {
                batch.Clear();
                while (batch.Count < MaxEventsPerPublish && _buffer.Reader.TryRead(out var usage))
                {
                    batch.Add(usage);
                }

                var events = batch.ToArray();
                await _retry.ExecuteAsync(async ct => await _publisher.PublishAsync(events, ct), abort);
            }
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
        }
    }

    private void Drop(string reason, string? detail)
    {
        _dropped.Add(1, new KeyValuePair<string, object?>("reason", reason));
        // At most one log line a second: a full buffer must not flood the logs.
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastDropLog);
        if (now - last >= 1000 && Interlocked.CompareExchange(ref _lastDropLog, now, last) == last)
        {
            _logger.LogWarning("Tracked usage dropped ({Reason}) {Detail}", reason, detail);
        }
    }
}
