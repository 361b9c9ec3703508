using System.Diagnostics;
using System.Diagnostics.Metrics;
using LlmCostTracker.Contracts;
using LlmCostTracker.Shared;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace LlmCostTracker.CostTracking;

/// <summary>Cost tracking that never throws and never blocks the caller: <see cref="Track"/> validates and
/// buffers; a background loop sends batches to the <see cref="IUsageSink"/>, retrying with exponential back-off
/// while it is unavailable, and drains the buffer on graceful shutdown. Events are dropped (counted in
/// <c>llmcost.tracker.dropped</c> and logged at most once a second) only when invalid, when the buffer is full,
/// or when they arrive after shutdown began.</summary>
public sealed class UsageTracker : IHostedService, IDisposable
{
    public const string MeterName = "LlmCostTracker";
    private readonly GroupCommit<LlmUsage> _buffer;
    private readonly IUsageSink _sink;
    private readonly TimeProvider _clock;
    private readonly ILogger<UsageTracker> _logger;
    private readonly Meter _meter;
    private readonly Counter<long> _dropped;
    private readonly Counter<long> _tagsLeftOff;
    private readonly ResiliencePipeline _retry;
    private readonly CancellationTokenSource _abort = new();
    private Task _loop = Task.CompletedTask;
    private long _lastDropLog = long.MinValue;
    private long _lastTagLog = long.MinValue;
    private readonly CostTrackingOptions _options;
    private readonly string[] _dimensions;

    public UsageTracker(IUsageSink sink, TimeProvider clock, IOptions<CostTrackingOptions> options, IMeterFactory meters, ILogger<UsageTracker> logger)
    {
        _sink = sink;
        _clock = clock;
        _logger = logger;
        _options = options.Value;
        _dimensions = _options.Dimensions.Length == 0 ? AttributionOptions.DefaultDimensions : _options.Dimensions;
        _buffer = new GroupCommit<LlmUsage>(new GroupCommitOptions<LlmUsage>
        {
            Commit = SendAsync,
            MaxWeight = options.Value.MaxBatchSize,
            Capacity = options.Value.Capacity,
        });
        _meter = meters.Create(MeterName);
        _dropped = _meter.CreateCounter<long>("llmcost.tracker.dropped", "{event}", "Tracked usage dropped: invalid, buffer full, or after shutdown.");
        _tagsLeftOff = _meter.CreateCounter<long>("llmcost.tracker.tags_left_off", "{tag}", "Tags left off tracked usage (the usage is still counted): unknown dimension, bad value or too many.");
        _meter.CreateObservableGauge("llmcost.tracker.buffer_depth", () => (long)_buffer.WaitingEntries, "{event}", "Tracked usage waiting to be sent.");
        _retry = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                // A timeout is an API that did not answer in time, worth another try like one that answered 503:
                // HttpClient's own throws TaskCanceledException, a resilience handler's TimeoutRejectedException.
                // Cancellation by our own shutdown is not retried.
                ShouldHandle = new PredicateBuilder()
                    .Handle<UsageSinkUnavailableException>()
                    .Handle<HttpRequestException>()
                    .Handle<Polly.Timeout.TimeoutRejectedException>()
                    .Handle<OperationCanceledException>(_ => !_abort.IsCancellationRequested),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.Value.RetryDelay,
                MaxDelay = options.Value.MaxRetryDelay,
            })
            .Build();
    }

    /// <summary>Events waiting to be sent.</summary>
    public int BufferedCount => _buffer.WaitingEntries;

    /// <summary>Buffers one event. Returns false (and counts a drop) when the event is invalid, the buffer is full
    /// or shutdown began; never throws.</summary>
    public bool Track(TrackedUsage usage)
    {
        try
        {
            var errors = new Dictionary<string, string[]>();
            var ambient = CostTrackingContext.CurrentTags;
            IReadOnlyDictionary<string, string>? tags = null;
            // Most calls carry no tags at all: nothing to merge, nothing allocated.
            if (_options.Tags.Count > 0 || ambient.Count > 0 || usage.Tags is { Count: > 0 })
            {
                tags = TagMerge.Merge(_dimensions, out var leftOff, _options.Tags, ambient, usage.Tags);
                if (leftOff > 0)
                {
                    TagsLeftOff(leftOff);
                }
            }

            var request = new UsageEventRequest(usage.EventId, usage.UserId, usage.Model, usage.InputTokens, usage.OutputTokens, usage.CachedInputTokens, usage.OccurredAt,
                usage.CacheWriteInputTokens, usage.ReasoningOutputTokens, usage.ServiceTier, usage.Provider, usage.HoldId,
                tags?.ToDictionary(t => t.Key, string? (t) => t.Value, StringComparer.Ordinal));
            var valid = UsageValidator.Validate(request, _clock.GetUtcNow(), () => Guid.CreateVersion7().ToString("N"), "", errors);
            if (valid is null)
            {
                Drop("invalid", string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(' ', e.Value)}")));
                return false;
            }

            if (_buffer.TryAdd(valid with { TraceParent = Activity.Current?.Id }))
            {
                return true;
            }

            Drop("buffer_full", $"{_buffer.WaitingEntries} events are waiting");
            return false;
        }
        catch (Exception ex)
        {
            Drop("error", ex.Message);
            return false;
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(() => _buffer.RunAsync(_abort.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>Stops accepting, then sends what is buffered until the host's shutdown timeout ends.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _buffer.Complete();
        try
        {
            await _loop.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            _logger.LogWarning("Shutdown timed out with {Count} tracked usage events unsent", _buffer.WaitingEntries);
        }
        finally
        {
            await _abort.CancelAsync();
        }
    }

    public void Dispose()
    {
        _abort.Dispose();
        _meter.Dispose();
    }

    private async Task SendAsync(IReadOnlyList<LlmUsage> batch, long count, CancellationToken abort)
    {
        var events = batch.ToArray();
        try
        {
            await _retry.ExecuteAsync(async ct => await _sink.SendAsync(events, ct), abort);
        }
        catch (UsageRejectedException ex)
        {
            _dropped.Add(events.Length, new KeyValuePair<string, object?>("reason", "rejected"));
            _logger.LogError(ex, "{Count} tracked usage events were rejected by the ingestion API", events.Length);
        }
        catch (Exception ex) when (!abort.IsCancellationRequested)
        {
            // Whatever else a sink throws, the loop goes on (an exception let out of it would end the loop, and every
            // later event would wait in the buffer until it was full, then be dropped). These are dropped, counted.
            _dropped.Add(events.Length, new KeyValuePair<string, object?>("reason", "error"));
            _logger.LogError(ex, "{Count} tracked usage events could not be sent", events.Length);
        }
    }

    private void TagsLeftOff(int count)
    {
        _tagsLeftOff.Add(count);
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastTagLog);
        if (now - last >= 1000 && Interlocked.CompareExchange(ref _lastTagLog, now, last) == last)
        {
            _logger.LogWarning("Tags left off tracked usage: a dimension not in {Dimensions}, a value outside 1 to {Max} characters of the userId set, or more than {MaxTags} tags",
                string.Join(", ", _dimensions), TagValidator.MaxValueLength, AttributionOptions.MaxTagsPerEvent);
        }
    }

    private void Drop(string reason, string? detail)
    {
        _dropped.Add(1, new KeyValuePair<string, object?>("reason", reason));
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastDropLog);
        if (now - last >= 1000 && Interlocked.CompareExchange(ref _lastDropLog, now, last) == last)
        {
            _logger.LogWarning("Tracked usage dropped ({Reason}): {Detail}", reason, detail);
        }
    }
}
