using System.Globalization;

namespace LlmCostTracker.History.Rollups;

/// <summary>A Redis stream entry id, <c>ms-seq</c>: the Redis server's clock when the entry was added and a sequence
/// within that millisecond. Ids grow in a stream, so the last one applied marks everything before it.</summary>
public readonly record struct StreamEntryId(long Milliseconds, long Sequence) : IComparable<StreamEntryId>
{
    public static readonly StreamEntryId Zero = new(0, 0);

    public static StreamEntryId Parse(string id)
    {
        var dash = id.IndexOf('-', StringComparison.Ordinal);
        return dash < 0
            ? new StreamEntryId(long.Parse(id, CultureInfo.InvariantCulture), 0)
            : new StreamEntryId(long.Parse(id.AsSpan(0, dash), CultureInfo.InvariantCulture), long.Parse(id.AsSpan(dash + 1), CultureInfo.InvariantCulture));
    }

    /// <summary>The smallest id after this one (for XTRIM MINID, which keeps ids from it on).</summary>
    public StreamEntryId Next => Sequence == long.MaxValue ? new StreamEntryId(Milliseconds + 1, 0) : this with { Sequence = Sequence + 1 };

    public DateTimeOffset AddedAt => DateTimeOffset.FromUnixTimeMilliseconds(Milliseconds);

    public int CompareTo(StreamEntryId other) =>
        Milliseconds != other.Milliseconds ? Milliseconds.CompareTo(other.Milliseconds) : Sequence.CompareTo(other.Sequence);

    public static bool operator <(StreamEntryId a, StreamEntryId b) => a.CompareTo(b) < 0;

    public static bool operator >(StreamEntryId a, StreamEntryId b) => a.CompareTo(b) > 0;

    public static bool operator <=(StreamEntryId a, StreamEntryId b) => a.CompareTo(b) <= 0;

    public static bool operator >=(StreamEntryId a, StreamEntryId b) => a.CompareTo(b) >= 0;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Milliseconds}-{Sequence}");
}
