using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace LlmCostTracker.Tests.Integration;

/// <summary>Keeps the last lines each resource of the app printed, as the testing builder forwards them to the host's
/// loggers (category <c>{AppHost}.Resources.{name}</c>). The orchestrator deletes a process's output when the process
/// exits, so a service that dies while starting (one CI run: the worker, exit code 134) leaves nothing to read after
/// the fact; this copy is what a start failure or an unexpected exit can still report.</summary>
public sealed class ResourceLogTail(int linesPerResource) : ILoggerProvider
{
    private const string Marker = ".Resources.";

    private readonly ConcurrentDictionary<string, ConcurrentQueue<string>> _lines = new();

    /// <summary>The last lines <paramref name="name"/> printed (stderr lines marked "!"), oldest first.</summary>
    public IReadOnlyList<string> Lines(string name) => _lines.TryGetValue(name, out var lines) ? [.. lines] : [];

    /// <summary>What to show of <paramref name="name"/>'s output: the first stderr lines kept (where a crash's exception
    /// and its message are) and the last lines, at most <paramref name="each"/> of each.</summary>
    public IEnumerable<string> Summary(string name, int each = 12)
    {
        var lines = Lines(name);
        var errors = lines.Select((line, i) => (line, i)).Where(l => l.line.StartsWith('!')).Take(each).ToList();
        var lastFrom = Math.Max(0, lines.Count - each);
        foreach (var (line, _) in errors.Where(e => e.i < lastFrom))
        {
            yield return line;
        }

        if (errors.Count > 0 && errors[^1].i < lastFrom - 1)
        {
            yield return "    ...";
        }

        foreach (var line in lines.Skip(lastFrom))
        {
            yield return line;
        }
    }

    public ILogger CreateLogger(string categoryName)
    {
        var at = categoryName.IndexOf(Marker, StringComparison.Ordinal);
        return at < 0 ? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance : new Tail(this, categoryName[(at + Marker.Length)..]);
    }

    public void Dispose()
    {
    }

    private void Add(string name, string line)
    {
        var lines = _lines.GetOrAdd(name, _ => new ConcurrentQueue<string>());
        lines.Enqueue(line);
        while (lines.Count > linesPerResource && lines.TryDequeue(out _))
        {
        }
    }

    private sealed class Tail(ResourceLogTail owner, string resource) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Add(resource, (logLevel >= LogLevel.Error ? "! " : "  ") + formatter(state, exception));
    }
}
