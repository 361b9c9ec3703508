using System.Diagnostics;
using LlmCostTracker.Contracts;
using LlmCostTracker.Shared;
using LlmCostTracker.WorkerService.Budgets;
using LlmCostTracker.WorkerService.Chunks;
using Microsoft.Extensions.Options;

namespace LlmCostTracker.WorkerService.Aggregation;

/// <summary>Group commit into the ledger (<see cref="GroupCommit{TEntry}"/>). Messages being consumed at the same time
/// hand their events here; each write takes everything waiting (up to <see cref="AggregationOptions.MaxEventsPerWrite"/>;
/// under light load after waiting up to <see cref="AggregationOptions.MaxWriteDelay"/> for more) and applies it in
/// one pass (<see cref="CostLedger.ApplyAsync"/>: one script call per bucket, month and 2,000 events, for all their
/// users). Each message's consumer waits
/// for the write that holds its events, so a message is still acknowledged only once its events are in Redis.
/// When a shared write fails, each message is retried on its own, so one bad message fails alone.</summary>
public sealed class LedgerBatcher : BackgroundService
{
    private const int MaxLinks = 64;
    private readonly CostLedger _ledger;
    private readonly AggregationOptions _options;
    private readonly ILogger<LedgerBatcher> _logger;
    private readonly GroupCommit<Pending> _writes;

    public LedgerBatcher(CostLedger ledger, IOptions<AggregationOptions> options, ILogger<LedgerBatcher> logger)
    {
        _ledger = ledger;
        _options = options.Value;
        _logger = logger;
        _writes = new GroupCommit<Pending>(new GroupCommitOptions<Pending>
        {
            Commit = CommitAsync,
            Weight = pending => pending.Events.Count,
            MaxWeight = _options.MaxEventsPerWrite,
            Concurrency = _options.ConcurrentWrites,
            BeforeTake = WaitUnderLightLoadAsync,
        });
    }

    /// <summary>Applies <paramref name="events"/> together with whatever else is waiting; the result describes
    /// these events only.</summary>
    public async Task<LedgerResult> ApplyAsync(IReadOnlyList<PricedUsage> events, CancellationToken ct)
    {
        var pending = new Pending(events, Activity.Current);
        if (!_writes.TryAdd(pending))
        {
            throw new InvalidOperationException("The ledger writer has stopped.");
        }

        return await pending.Done.Task.WaitAsync(ct);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => _writes.RunAsync(stoppingToken);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // Stopped after the bus (registered before it), so nothing should still be waiting; anything that is
        // fails, its message stays unacknowledged and the broker redelivers it.
        _writes.Complete();
        await base.StopAsync(cancellationToken);
        while (_writes.TryTakeLeftOver(out var pending))
        {
            pending.Done.TrySetCanceled(CancellationToken.None);
        }
    }

    /// <summary>Under light load, waits a moment for more: a user's share of a script call is most of its cost, so
    /// a write of a few events costs Redis and the worker several times what it costs in a full one (BENCHMARKS.md).
    /// Not when half the messages the worker may hold are already waiting: then no more can arrive to join.</summary>
    private async Task WaitUnderLightLoadAsync(GroupCommit<Pending> writes, CancellationToken stoppingToken)
    {
        if (_options.MaxWriteDelay > TimeSpan.Zero
            && writes.WaitingWeight < _options.MaxEventsPerWrite / 4
            && writes.WaitingEntries < _options.ConcurrentMessages / 2)
        {
            await Task.Delay(_options.MaxWriteDelay, stoppingToken);
        }
    }

    private async Task CommitAsync(IReadOnlyList<Pending> batch, long count, CancellationToken stoppingToken)
    {
        try
        {
            // At the service's stop the write in flight is not waited for: with Redis down it sits in the client's
            // backlog for seconds, and held the stop until its bound ran out. Its messages' consumers were stopped
            // before (the bus stops first), so they are unacknowledged and redelivered; if the write still lands,
            // the ledger's claims count each event once.
            await WriteAsync(batch, (int)count).WaitAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            foreach (var pending in batch)
            {
                pending.Done.TrySetCanceled(stoppingToken);
            }
        }
        catch (Exception ex)
        {
            // Whatever goes wrong, every waiting message gets an answer (its retry policy takes over) and the pump
            // keeps running.
            _logger.LogError(ex, "A ledger write of {Messages} messages failed", batch.Count);
            foreach (var pending in batch)
            {
                pending.Done.TrySetException(ex);
            }
        }
    }

    private async Task WriteAsync(IReadOnlyList<Pending> batch, int eventCount)
    {
        if (batch.Count == 1)
        {
            await WriteAloneAsync(batch[0]);
            return;
        }

        var events = new List<PricedUsage>(eventCount);
        foreach (var pending in batch)
        {
            events.AddRange(pending.Events);
        }

        // The write is part of the first message's trace and links the others; each message's span links the write,
        // so whoever follows one event finds where, when and whether its write happened.
        var first = batch.FirstOrDefault(p => p.Parent is not null)?.Parent;
        using var activity = WorkerMetrics.ActivitySource.StartActivity(
            "write ledger", ActivityKind.Internal, parentContext: first?.Context ?? default, links: LinksTo(batch, first));
        activity?.SetTag("llmcost.events", eventCount);
        activity?.SetTag("llmcost.messages", batch.Count);
        if (activity is not null)
        {
            foreach (var pending in batch)
            {
                pending.Parent?.AddLink(new ActivityLink(activity.Context));
            }
        }
        LedgerResult result;
        try
        {
            result = await _ledger.ApplyAsync(events);
        }
        catch (Exception ex)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            _logger.LogWarning(ex, "A ledger write of {Messages} messages failed; writing each message alone", batch.Count);
            foreach (var pending in batch)
            {
                await WriteAloneAsync(pending);
            }

            return;
        }

        // An alert belongs to the message whose event crossed it, re-indexed to that message's events; one handed
        // back by a redelivery (no event) goes to the first message of this write that holds an event of that
        // user's month.
        var starts = new int[batch.Count + 1];
        for (var p = 0; p < batch.Count; p++)
        {
            starts[p + 1] = starts[p] + batch[p].Events.Count;
        }

        var alerts = new List<CrossedThreshold>[batch.Count];
        foreach (var alert in result.Alerts)
        {
            var p = alert.EventIndex is { } index
                ? Array.FindIndex(starts, 1, start => start > index) - 1
                : batch.Select((pending, p) => (pending, p)).First(m => m.pending.Events.Any(e =>
                    e.Usage.UserId == alert.UserId && LedgerCalendar.DayOf(e.Usage.OccurredAt).Month.Key == alert.Month)).p;
            (alerts[p] ??= []).Add(alert with { EventIndex = alert.EventIndex - starts[p] });
        }

        for (var p = 0; p < batch.Count; p++)
        {
            batch[p].Done.TrySetResult(new LedgerResult(alerts[p] ?? [], result.Duplicate.AsSpan(starts[p], batch[p].Events.Count).ToArray()));
        }
    }

    private async Task WriteAloneAsync(Pending pending)
    {
        var previous = Activity.Current;
        Activity.Current = pending.Parent;
        try
        {
            pending.Done.TrySetResult(await _ledger.ApplyAsync(pending.Events));
        }
        catch (Exception ex)
        {
            pending.Done.TrySetException(ex);
        }
        finally
        {
            Activity.Current = previous;
        }
    }

    private static IEnumerable<ActivityLink>? LinksTo(IReadOnlyList<Pending> batch, Activity? parent)
    {
        if (!WorkerMetrics.ActivitySource.HasListeners())
        {
            return null;
        }

        return batch.Where(p => p.Parent is not null && p.Parent != parent).Take(MaxLinks).Select(p => new ActivityLink(p.Parent!.Context)).ToList();
    }

    private sealed record Pending(IReadOnlyList<PricedUsage> Events, Activity? Parent)
    {
        public TaskCompletionSource<LedgerResult> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
