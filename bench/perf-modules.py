"""Reads `perf report --sort dso,sym --stdio -g none` and prints the CPU share by module (a JIT'd method counts to its
assembly, named in its perf-map symbol) and the hottest symbols. Used by bench/profile-api.sh."""
import collections
import re
import sys

modules = collections.Counter()
symbols = []
for line in sys.stdin:
    match = re.match(r"\s*([\d.]+)%\s+(\S.*?)\s{2,}\[(.)\]\s+(.*)", line)
    if not match:
        continue
    share, dso, symbol = float(match.group(1)), match.group(2).strip(), match.group(4).strip()
    if dso.startswith("[JIT]"):
        assembly = re.search(r"\[([A-Za-z][\w.]+)\]\s*[\w.]", symbol)
        module = "JIT " + (assembly.group(1) if assembly else "stubs")
    else:
        module = dso
    modules[module] += share
    symbols.append((share, symbol[:150]))

print("\nby module (% of the API's samples):")
for module, share in modules.most_common(25):
    print(f"{share:6.2f}  {module}")
print("\nhottest symbols:")
for share, symbol in sorted(symbols, reverse=True)[:25]:
    print(f"{share:6.2f}  {symbol}")
