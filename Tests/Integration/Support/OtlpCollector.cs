using System.Net;

namespace LlmCostTracker.Tests.Integration;

/// <summary>An OTLP/HTTP (protobuf) receiver in the test process, standing where the Aspire dashboard would: the
/// services export to it, and it keeps the spans and log messages it receives (metrics are accepted and dropped). Only
/// what the tests read is decoded from the protobuf: a span's ids, parent, name and links, a log record's body.</summary>
public sealed class OtlpCollector : IAsyncDisposable
{
    public const int MaxSpans = 500_000;
    public const int MaxLogs = 100_000;
    private readonly LoopbackListener _listener;
    private readonly List<Span> _spans = [];
    private readonly List<string> _logs = [];
    private int _unreadable;

    public sealed record Link(string TraceId, string SpanId);

    public sealed record Span(string TraceId, string SpanId, string ParentSpanId, string Name, IReadOnlyList<Link> Links);

    public OtlpCollector()
    {
        _listener = new LoopbackListener(ServeAsync);
    }

    public Uri Endpoint => _listener.Endpoint;

    /// <summary>Trace and log exports that could not be decoded.</summary>
    public int Unreadable => Volatile.Read(ref _unreadable);

    public IReadOnlyList<Span> Spans
    {
        get
        {
            lock (_spans)
            {
                return [.. _spans];
            }
        }
    }

    /// <summary>The bodies of the log records received (the formatted messages, as the services export them).</summary>
    public IReadOnlyList<string> Logs
    {
        get
        {
            lock (_logs)
            {
                return [.. _logs];
            }
        }
    }

    private async Task ServeAsync(HttpListenerContext context)
    {
        using (var body = new MemoryStream())
        {
            await context.Request.InputStream.CopyToAsync(body);
            switch (context.Request.Url?.AbsolutePath)
            {
                case "/v1/traces": Keep(body.ToArray(), b => ReadTraces(b), _spans, MaxSpans); break;
                case "/v1/logs": Keep(body.ToArray(), b => ReadLogBodies(b), _logs, MaxLogs); break;
            }
        }

        // An empty Export*ServiceResponse: accepted.
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/x-protobuf";
        context.Response.Close();
    }

    /// <summary>ExportTraceServiceRequest → resource_spans (1) → scope_spans (2) → spans (2): trace_id (1), span_id
    /// (2), parent_span_id (4), name (5), links (13: trace_id 1, span_id 2).</summary>
    public static List<Span> ReadTraces(ReadOnlySpan<byte> request)
    {
        var spans = new List<Span>();
        foreach (var resourceSpans in Fields(request, 1))
        {
            foreach (var scopeSpans in Fields(resourceSpans, 2))
            {
                foreach (var span in Fields(scopeSpans, 2))
                {
                    spans.Add(ReadSpan(span));
                }
            }
        }

        return spans;
    }

    /// <summary>Decodes an export and keeps what it holds, up to <paramref name="max"/> items in all.</summary>
    private void Keep<T>(byte[] body, Func<byte[], List<T>> read, List<T> into, int max)
    {
        List<T> items;
        try
        {
            items = read(body);
        }
        catch (Exception ex) when (ex is InvalidDataException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            // Counted, so a test can tell "nothing exported" from "not understood".
            Interlocked.Increment(ref _unreadable);
            return;
        }

        lock (into)
        {
            if (into.Count + items.Count <= max)
            {
                into.AddRange(items);
            }
        }
    }

    /// <summary>ExportLogsServiceRequest → resource_logs (1) → scope_logs (2) → log_records (2) → body (5), an AnyValue
    /// whose string_value (1) the services' log messages are.</summary>
    public static List<string> ReadLogBodies(ReadOnlySpan<byte> request)
    {
        var bodies = new List<string>();
        foreach (var resourceLogs in Fields(request, 1))
        {
            foreach (var scopeLogs in Fields(resourceLogs, 2))
            {
                foreach (var record in Fields(scopeLogs, 2))
                {
                    foreach (var body in Fields(record, 5))
                    {
                        bodies.AddRange(Fields(body, 1).Select(System.Text.Encoding.UTF8.GetString));
                    }
                }
            }
        }

        return bodies;
    }

    private static Span ReadSpan(byte[] span)
    {
        string traceId = "", spanId = "", parent = "", name = "";
        var links = new List<Link>();
        var reader = new Reader(span);
        while (reader.Next(out var field, out var wire))
        {
            if (wire != 2)
            {
                reader.Skip(wire);
                continue;
            }

            var value = reader.Bytes();
            switch (field)
            {
                case 1: traceId = Convert.ToHexStringLower(value); break;
                case 2: spanId = Convert.ToHexStringLower(value); break;
                case 4: parent = Convert.ToHexStringLower(value); break;
                case 5: name = System.Text.Encoding.UTF8.GetString(value); break;
                case 13:
                    string linkTrace = "", linkSpan = "";
                    var link = new Reader(value);
                    while (link.Next(out var f, out var w))
                    {
                        if (w != 2)
                        {
                            link.Skip(w);
                            continue;
                        }

                        var bytes = link.Bytes();
                        if (f == 1)
                        {
                            linkTrace = Convert.ToHexStringLower(bytes);
                        }
                        else if (f == 2)
                        {
                            linkSpan = Convert.ToHexStringLower(bytes);
                        }
                    }

                    links.Add(new Link(linkTrace, linkSpan));
                    break;
            }
        }

        return new Span(traceId, spanId, parent, name, links);
    }

    /// <summary>The length-delimited values of one field number of a message.</summary>
    private static List<byte[]> Fields(ReadOnlySpan<byte> message, int number)
    {
        var values = new List<byte[]>();
        var reader = new Reader(message.ToArray());
        while (reader.Next(out var field, out var wire))
        {
            if (wire == 2 && field == number)
            {
                values.Add(reader.Bytes());
            }
            else
            {
                reader.Skip(wire);
            }
        }

        return values;
    }

    /// <summary>Protobuf's wire format: varint keys, then varint (0), fixed64 (1), length-delimited (2) or fixed32 (5).</summary>
    private sealed class Reader(byte[] data)
    {
        private int _at;

        public bool Next(out int field, out int wire)
        {
            if (_at >= data.Length)
            {
                field = wire = 0;
                return false;
            }

            var key = Varint();
            field = (int)(key >> 3);
            wire = (int)(key & 7);
            return true;
        }

        public byte[] Bytes()
        {
            var length = (int)Varint();
            var value = data.AsSpan(_at, length).ToArray();
            _at += length;
            return value;
        }

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0: Varint(); break;
                case 1: _at += 8; break;
                case 2:
                    // Read the length first: `_at += Varint()` would add it to _at as it was before the varint.
                    var length = (int)Varint();
                    _at += length;
                    break;
                case 5: _at += 4; break;
                default: throw new InvalidDataException($"Protobuf wire type {wire} is not in OTLP.");
            }
        }

        private ulong Varint()
        {
            ulong value = 0;
            for (var shift = 0; ; shift += 7)
            {
                var b = data[_at++];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }
        }
    }

    public ValueTask DisposeAsync() => _listener.DisposeAsync();
}
