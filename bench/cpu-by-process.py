"""The machine's CPU split and the busiest processes, every INTERVAL seconds, COUNT times, from /proc.

    python3 bench/cpu-by-process.py [interval (5)] [count (60)]

Run beside a load (e.g. bench/sustained.sh) to see where the two cores go window by window: user, kernel, idle,
I/O wait and steal for the machine, then each live process's share of a core (names as the kernel keeps them, 15
characters: the API and the worker both show as "LlmCostTracker."). CPU used by processes that start and end within
a window (a curl, a python3) shows in the machine's figures but in no process's."""
import collections
import os
import sys
import time


def snapshot():
    used = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        used[pid] = (stat[stat.index("(") + 1:stat.rindex(")")], int(fields[11]) + int(fields[12]))
    with open("/proc/stat") as f:
        machine = [int(v) for v in f.readline().split()[1:]]
    return used, machine


def main():
    interval = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    hz = os.sysconf("SC_CLK_TCK")
    for _ in range(count):
        before, machine_before = snapshot()
        time.sleep(interval)
        after, machine_after = snapshot()
        by_name = collections.Counter()
        for pid, (name, ticks) in after.items():
            if pid in before:
                by_name[name] += ticks - before[pid][1]
        # user nice system idle iowait irq softirq steal
        d = [b - a for a, b in zip(machine_before, machine_after)]
        total = sum(d) or 1
        shares = (d[0] + d[1], d[2], d[3], d[4], d[7])
        print(time.strftime("%H:%M:%S"),
              "machine: user %.0f%%, kernel %.0f%%, idle %.0f%%, iowait %.0f%%, steal %.0f%%" % tuple(100 * v / total for v in shares),
              "|", ", ".join(f"{name} {ticks / hz / interval:.2f}" for name, ticks in by_name.most_common(7)), flush=True)


main()
