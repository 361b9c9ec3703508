using System.Diagnostics;
using LlmCostTracker.Contracts;
using LlmCostTracker.Shared;
using MassTransit;
using Microsoft.Extensions.Options;

namespace LlmCostTracker.ApiService.Ingestion;

/// <summary>Publishes accepted usage to the broker and completes each caller only once the broker has confirmed
/// the message holding its events (persistent, publisher confirms). Requests that arrive while publishes are in
/// flight are coalesced into the next message (group commit): one broker round trip serves many callers, and a
/// lone request is published at once, so latency never waits for a batch to fill.</summary>
public sealed class UsagePublisher : BackgroundService
{
    private static readonly ActivitySource Source = new("LlmCostTracker");

    private readonly GroupCommit<Pending> _messages;
    private readonly IBus _bus;
    private readonly IngestOptions _options;
    private readonly ILogger<UsagePublisher> _logger;
    private readonly IngestMetrics _metrics;
    private readonly BrokerWaitLimit _limit;

    public UsagePublisher(IBus bus, IOptions<IngestOptions> options, IngestMetrics metrics, BrokerWaitLimit limit, ILogger<UsagePublisher> logger)
    {
        _bus = bus;
        _limit = limit;
        _metrics = metrics;
        _options = options.Value;
        _logger = logger;
        _messages = new GroupCommit<Pending>(new GroupCommitOptions<Pending>
        {
            Commit = PublishBatchAsync,
            Weight = pending => pending.Events.Count,
            MaxWeight = _options.MaxEventsPerMessage,
            Concurrency = _options.PublishConcurrency,
            Capacity = _options.QueueCapacity,
        });
    }

    /// <summary>Completes when the broker confirmed the events; throws <see cref="BrokerUnavailableException"/>
    /// when it did not within <see cref="IngestOptions.PublishTimeout"/>, or the service is stopping
    /// (<see cref="BrokerWaitLimit"/>).</summary>
    /// <param name="spanInEventTrace">For one event read from a caller's own span (OTLP): when it goes as a message of
    /// its own, the publish runs under a span of this name in the caller's trace (the event's traceparent), linked to
    /// the request's, so the publish and the worker's write continue that trace. Coalesced with other requests, no
    /// span is made: the worker links each event's trace instead, as for any message of several events.</param>
    public async Task PublishAsync(IReadOnlyList<LlmUsage> events, CancellationToken ct, string? spanInEventTrace = null)
    {
        var pending = new Pending(events, Activity.Current, spanInEventTrace);
        if (!_messages.TryAdd(pending))
        {
            throw new BrokerUnavailableException("Too many events are waiting for the broker.");
        }

        try
        {
            await pending.Confirmed.Task.WaitAsync(_options.PublishTimeout, _limit.Stopped).WaitAsync(ct);
        }
        catch (TimeoutException ex)
        {
            throw new BrokerUnavailableException("The broker did not confirm in time.", ex);
        }
        catch (OperationCanceledException ex) when (_limit.Stopped.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            throw new BrokerUnavailableException("The service is stopping and the broker did not confirm in time.", ex);
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => _messages.RunAsync(stoppingToken);

    private async Task PublishBatchAsync(IReadOnlyList<Pending> batch, long count, CancellationToken stoppingToken)
    {
        List<LlmUsage> events;
        if (batch.Count == 1)
        {
            events = batch[0].Events as List<LlmUsage> ?? [.. batch[0].Events];
        }
        else
        {
            events = new List<LlmUsage>((int)count);
            foreach (var pending in batch)
            {
                events.AddRange(pending.Events);
            }
        }

        // A lone request's publish joins that request's trace (or its event's, see spanInEventTrace); every event also
        // carries its own traceparent.
        var previous = Activity.Current;
        Activity.Current = batch.Count == 1 ? batch[0].Parent : null;
        var inEventTrace = batch.Count == 1 ? StartInEventTrace(batch[0]) : null;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, _limit.Stopped);
        timeout.CancelAfter(_options.PublishTimeout);
        try
        {
            var started = Stopwatch.GetTimestamp();
            await _bus.Publish(new LlmUsageRecorded { Events = events }, timeout.Token);
            _metrics.Published(Stopwatch.GetElapsedTime(started));
            foreach (var pending in batch)
            {
                pending.Confirmed.TrySetResult();
            }
        }
        catch (Exception ex)
        {
            _logger.LogWarning(ex, "Publishing {Count} usage events failed", count);
            var failure = new BrokerUnavailableException("The broker did not confirm the events.", ex);
            foreach (var pending in batch)
            {
                pending.Confirmed.TrySetException(failure);
            }
        }
        finally
        {
            inEventTrace?.Dispose();
            Activity.Current = previous;
        }
    }

    private static Activity? StartInEventTrace(Pending pending) =>
        pending.SpanInEventTrace is { } name && pending.Events.Count == 1
            && ActivityContext.TryParse(pending.Events[0].TraceParent, null, out var caller)
            ? Source.StartActivity(name, ActivityKind.Internal, caller, links: pending.Parent is null ? null : [new ActivityLink(pending.Parent.Context)])
            : null;

    private sealed record Pending(IReadOnlyList<LlmUsage> Events, Activity? Parent, string? SpanInEventTrace)
    {
        public TaskCompletionSource Confirmed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
