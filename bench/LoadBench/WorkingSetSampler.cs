using System.Diagnostics;

namespace LlmCostTracker.LoadBench;

/// <summary>Samples the resident set of the app's processes (by name) twice a second and keeps the peaks.</summary>
public sealed class WorkingSetSampler(string[] processNames)
{
    private readonly Dictionary<string, long> _peaks = [];
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    public void Start() => _loop = Task.Run(async () =>
    {
        while (!_stop.IsCancellationRequested)
        {
            foreach (var (name, bytes) in Current())
            {
                lock (_peaks)
                {
                    _peaks[name] = Math.Max(_peaks.GetValueOrDefault(name), bytes);
                }
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
        var sizes = new Dictionary<string, long>();
        foreach (var name in processNames)
        {
            long total = 0;
            // Redis rewrites its command line, so match on the start of the process name.
            foreach (var process in Process.GetProcesses())
            {
                using (process)
                {
                    if (process.ProcessName.StartsWith(name, StringComparison.Ordinal))
                    {
                        total += process.WorkingSet64;
                    }
                }
            }

            sizes[name] = total;
        }

        return sizes;
    }

    public IEnumerable<(string Name, long PeakBytes)> Peaks()
    {
        lock (_peaks)
        {
            return [.. _peaks.Select(p => (p.Key, p.Value))];
        }
    }
}
