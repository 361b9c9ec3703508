using System.Buffers;
using System.Text;

namespace LlmCostTracker.History.Rollups;

/// <summary>The binary form of a rollup delta (<see cref="RollupDeltaBuilder.Encode"/>, read by
/// <see cref="RollupDelta.AddEncoded"/>). A load of batches writes a delta for every ledger call and the writer reads
/// each back: as JSON that was a row's six key texts and ten counters spelled out per row (about 85 bytes), parsed into
/// a document and four new strings a row. Here each text is written once an entry and a row names it by index, numbers
/// are unsigned LEB128 varints (a negative one round-trips in ten bytes), and nothing is read twice.
/// <code>
/// entry   = 0x02 texts days usage tags events
/// texts   = n (length utf8-bytes)*n         days = n dayNumber*n      (DateOnly.DayNumber)
/// usage   = n (day user model provider tier band counter*10)*n        (indexes into texts and days)
/// tags    = n (day dimension value model counter*10)*n
/// events  = n (row*2+extra [cacheWrite1h audioInput audioOutput t tagRow*t if extra])*n
/// </code>
/// An entry written before this form is JSON and starts with <c>{</c>.</summary>
internal static class RollupWire
{
    public const byte Version = 0x02;

    /// <summary>The longest varint: ten bytes hold 64 bits, seven at a time.</summary>
    private const int MaxVarintBytes = 10;

    public static void Write(IBufferWriter<byte> output, ulong value)
    {
        var span = output.GetSpan(MaxVarintBytes);
        var n = 0;
        while (value >= 0x80)
        {
            span[n++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[n++] = (byte)value;
        output.Advance(n);
    }

    public static void Write(IBufferWriter<byte> output, long value) => Write(output, (ulong)value);

    public static void Write(IBufferWriter<byte> output, string text)
    {
        var length = Encoding.UTF8.GetByteCount(text);
        Write(output, (ulong)length);
        Encoding.UTF8.GetBytes(text, output.GetSpan(length));
        output.Advance(length);
    }

    public static void Write(IBufferWriter<byte> output, in RollupCounters counters)
    {
        Write(output, counters.Requests);
        Write(output, counters.Input);
        Write(output, counters.Cached);
        Write(output, counters.CacheWrite);
        Write(output, counters.CacheWrite1h);
        Write(output, counters.AudioInput);
        Write(output, counters.Output);
        Write(output, counters.Reasoning);
        Write(output, counters.AudioOutput);
        Write(output, counters.CostMicros);
    }

    /// <summary>Reads an entry front to back; whatever does not fit the form (a varint past its end or too long, an
    /// index past its table, invalid UTF-8) throws <see cref="InvalidDataException"/>, so the writer sets it aside.</summary>
    public ref struct Reader(ReadOnlySpan<byte> entry)
    {
        private readonly ReadOnlySpan<byte> _entry = entry;
        private int _at;

        public readonly bool AtEnd => _at == _entry.Length;

        public byte ReadByte() => _at < _entry.Length ? _entry[_at++] : throw Truncated();

        public ulong ReadUInt64()
        {
            ulong value = 0;
            for (var shift = 0; shift < 7 * MaxVarintBytes; shift += 7)
            {
                var b = ReadByte();
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }

            throw new InvalidDataException("A rollup delta's number runs past ten bytes.");
        }

        public long ReadInt64() => (long)ReadUInt64();

        /// <summary>A count or an index below <paramref name="limit"/>.</summary>
        public int ReadIndex(int limit, string what)
        {
            var value = ReadUInt64();
            return value < (ulong)limit ? (int)value : throw new InvalidDataException($"A rollup delta's {what} {value} is past its {limit}.");
        }

        /// <summary>A count of items of at least one byte each, so a damaged count cannot ask for more than the entry holds.</summary>
        public int ReadCount(string what) => ReadIndex(_entry.Length - _at + 1, what);

        public ReadOnlySpan<byte> ReadBytes()
        {
            var length = ReadCount("text length");
            var bytes = _entry.Slice(_at, length);
            _at += length;
            return bytes;
        }

        public RollupCounters ReadCounters() => new()
        {
            Requests = ReadInt64(),
            Input = ReadInt64(),
            Cached = ReadInt64(),
            CacheWrite = ReadInt64(),
            CacheWrite1h = ReadInt64(),
            AudioInput = ReadInt64(),
            Output = ReadInt64(),
            Reasoning = ReadInt64(),
            AudioOutput = ReadInt64(),
            CostMicros = ReadInt64(),
        };

        private readonly InvalidDataException Truncated() => new("A rollup delta ends inside an item.");
    }
}
