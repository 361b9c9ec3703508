using System.Threading.Channels;

namespace LlmCostTracker.Shared;

/// <summary>Group commit: producers add entries, and each of <see cref="GroupCommitOptions{TEntry}.Concurrency"/>
/// pumps takes everything waiting (up to <see cref="GroupCommitOptions{TEntry}.MaxWeight"/>, an entry weighing its
/// events) and hands it to one commit, so one round trip serves every entry that arrived while the last one ran,
/// and a lone entry is committed at once. What a producer waits for (a broker confirm, a ledger result) is its
/// entry's business, not this type's. One mechanism for the API's publisher (requests into broker messages), the
/// worker's ledger batcher (messages into ledger writes) and the tracker (events into HTTP batches). It is shared as
/// source, compiled as an internal type into each of the three: no project of its own for one type, and the client
/// library (which references only <c>Contracts</c>) exposes none of it.</summary>
internal sealed class GroupCommit<TEntry>
{
    private readonly Channel<TEntry> _queue;
    private readonly GroupCommitOptions<TEntry> _options;
    private long _waitingWeight;
    private int _waitingEntries;

    public GroupCommit(GroupCommitOptions<TEntry> options)
    {
        _options = options;
        _queue = options.Capacity is { } capacity
            ? Channel.CreateBounded<TEntry>(new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.Wait, SingleReader = options.Concurrency == 1 })
            : Channel.CreateUnbounded<TEntry>(new UnboundedChannelOptions { SingleReader = options.Concurrency == 1 });
    }

    /// <summary>The weight of the entries waiting for a commit.</summary>
    public long WaitingWeight => Volatile.Read(ref _waitingWeight);

    /// <summary>The entries waiting for a commit.</summary>
    public int WaitingEntries => Volatile.Read(ref _waitingEntries);

    /// <summary>Adds an entry; false when the queue is full or <see cref="Complete"/> was called.</summary>
    public bool TryAdd(TEntry entry)
    {
        var weight = _options.Weight(entry);
        Interlocked.Add(ref _waitingWeight, weight);
        Interlocked.Increment(ref _waitingEntries);
        if (_queue.Writer.TryWrite(entry))
        {
            return true;
        }

        Interlocked.Add(ref _waitingWeight, -weight);
        Interlocked.Decrement(ref _waitingEntries);
        return false;
    }

    /// <summary>Takes no more entries; the pumps commit what is waiting, then end.</summary>
    public void Complete() => _queue.Writer.TryComplete();

    /// <summary>Takes an entry no pump will commit (after the pumps ended), to answer it.</summary>
    public bool TryTakeLeftOver(out TEntry entry) => _queue.Reader.TryRead(out entry!);

    /// <summary>Runs the pumps until <see cref="Complete"/> and the queue is empty, or until cancelled.</summary>
    public Task RunAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, _options.Concurrency).Select(_ => PumpAsync(stoppingToken)));

    private async Task PumpAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                if (_options.BeforeTake is { } beforeTake)
                {
                    await beforeTake(this, stoppingToken);
                }

                var group = new List<TEntry>();
                long weight = 0;
                while (weight < _options.MaxWeight && _queue.Reader.TryRead(out var entry))
                {
                    group.Add(entry);
                    weight += _options.Weight(entry);
                }

                Interlocked.Add(ref _waitingWeight, -weight);
                Interlocked.Add(ref _waitingEntries, -group.Count);
                if (group.Count > 0)
                {
                    await _options.Commit(group, weight, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}

/// <summary>How a <see cref="GroupCommit{TEntry}"/> groups and commits.</summary>
internal sealed class GroupCommitOptions<TEntry>
{
    /// <summary>Commits one group (its entries in arrival order, and their total weight). It must answer every
    /// entry, whatever happens: an exception it lets through ends its pump.</summary>
    public required Func<IReadOnlyList<TEntry>, long, CancellationToken, Task> Commit { get; init; }

    /// <summary>An entry's weight (e.g. its event count).</summary>
    public Func<TEntry, long> Weight { get; init; } = _ => 1;

    /// <summary>A group stops taking entries once it weighs this much (one entry is always taken).</summary>
    public long MaxWeight { get; init; } = long.MaxValue;

    /// <summary>Pumps, so commits in flight at once.</summary>
    public int Concurrency { get; init; } = 1;

    /// <summary>Entries that may wait; null for no bound.</summary>
    public int? Capacity { get; init; }

    /// <summary>Runs when entries are waiting, before a group is taken (e.g. to wait a moment for more).</summary>
    public Func<GroupCommit<TEntry>, CancellationToken, Task>? BeforeTake { get; init; }
}
