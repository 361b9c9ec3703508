using System.Diagnostics;

namespace LlmCostTracker.LoadBench;

/// <summary>Samples the resident set of the app's processes (by name) twice a second and keeps the peaks.</summary>
public sealed class WorkingSetSampler(string[] processNames)
{
    private readonly Dictionary<string, long> _peaks = [];
    private readonly List<(TimeSpan At, Dictionary<string, long> Sizes)> _history = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(string Name, int Pid)> _pids = [];
    private readonly Stopwatch _lastScan = Stopwatch.StartNew();
    private Task _loop = Task.CompletedTask;

    public void Start() => _loop = Task.Run(async () =>
    {
        while (!_stop.IsCancellationRequested)
        {
            var sizes = Current();
            lock (_peaks)
            {
                foreach (var (name, bytes) in sizes)
                {
                    _peaks[name] = Math.Max(_peaks.GetValueOrDefault(name), bytes);
                }

                _history.Add((_clock.Elapsed, sizes));
            }

            try
            {
                await Task.Delay(500, _stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }
    });

    public void Stop()
    {
        _stop.Cancel();
        _loop.Wait();
    }

    public Dictionary<string, long> Current()
    {
        lock (_pids)
        {
            return Sample();
        }
    }

    /// <summary>The processor time the sampled processes have used so far, together.</summary>
    public TimeSpan ProcessorTime() => ProcessorTimes().Values.Aggregate(TimeSpan.Zero, (sum, t) => sum + t);

    /// <summary>The processor time (user and kernel, from /proc) each sampled process name has used so far.</summary>
    public Dictionary<string, TimeSpan> ProcessorTimes()
    {
        lock (_pids)
        {
            Sample();
            var times = processNames.ToDictionary(n => n, _ => TimeSpan.Zero);
            foreach (var (name, pid) in _pids)
            {
                try
                {
                    using var process = Process.GetProcessById(pid);
                    times[name] += process.TotalProcessorTime;
                }
                catch (ArgumentException)
                {
                    // Exited since the last scan.
                }
            }

            return times;
        }
    }

    private Dictionary<string, long> Sample()
    {
        // Listing every process reads all of /proc: done every 10 s only, the matches are then read by id.
        if (_lastScan.Elapsed > TimeSpan.FromSeconds(10) || _pids.Count == 0)
        {
            _pids.Clear();
            foreach (var process in Process.GetProcesses())
            {
                using (process)
                {
                    // Redis rewrites its command line, so match on the start of the process name.
                    if (processNames.FirstOrDefault(n => process.ProcessName.StartsWith(n, StringComparison.Ordinal)) is { } name)
                    {
                        _pids.Add((name, process.Id));
                    }
                }
            }

            _lastScan.Restart();
        }

        var sizes = processNames.ToDictionary(n => n, _ => 0L);
        foreach (var (name, pid) in _pids)
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                sizes[name] += process.WorkingSet64;
            }
            catch (ArgumentException)
            {
                // Exited since the last scan.
            }
        }

        return sizes;
    }

    public TimeSpan Now => _clock.Elapsed;

    /// <summary>The sample nearest each of <paramref name="fractions"/> of the span from <paramref name="from"/>
    /// to <paramref name="to"/>: how a process's working set moved across a phase.</summary>
    public IReadOnlyList<long> Across(string name, TimeSpan from, TimeSpan to, double[] fractions)
    {
        lock (_peaks)
        {
            return [.. fractions.Select(f =>
            {
                var at = from + (to - from) * f;
                return _history.Count == 0 ? 0 : _history.MinBy(h => (h.At - at).Duration()).Sizes.GetValueOrDefault(name);
            })];
        }
    }

    public IEnumerable<(string Name, long PeakBytes)> Peaks()
    {
        lock (_peaks)
        {
            return [.. _peaks.Select(p => (p.Key, p.Value))];
        }
    }
}
