#!/usr/bin/env bash
# Budget hold latency measured by wrk (a C load tool) instead of the .NET generator: starts the app as
# bench/run.sh does (--serve), warms the hold path, then measures holds and the floor (the same request refused).
# Needs wrk (apt-get install wrk). BENCH_API_<name>=<value> reaches the API's environment, as with bench/run.sh.
# CONNECTIONS (7) and DELAY_MS (2, each connection's pause between requests) set the rate: wrk has no fixed-rate
# mode. SETTLE_CONNECTIONS > 0 also posts usage events carrying a holdId during the measured holds (bench/wrk/usage.lua),
# so the API, the broker and the worker are busy as they are when calls settle their holds.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk > /dev/null || { echo "wrk is not installed: sudo apt-get install wrk" >&2; exit 1; }
connections=${CONNECTIONS:-7} seconds=${SECONDS_MEASURED:-30} warm=${WARM_SECONDS:-60} settle=${SETTLE_CONNECTIONS:-0}
serve=$(mktemp -u)
log=$(mktemp)
echo "starting the app (its output in $log) ..."
bash bench/run.sh --serve $((warm + seconds * 2 + 60)) --serve-file "$serve" > "$log" 2>&1 &
app=$!
# On a failure too, the benchmark process (not run.sh, which then ends with it) is told to stop: it stops the app.
# The serve time only bounds a lost run.
trap 'pkill -f -- "LoadBench.dll --serve [0-9]+ --serve-file $serve" 2> /dev/null || true; wait $app 2> /dev/null || true' ERR INT TERM
for _ in $(seq 1 150); do [ -s "$serve" ] && break; kill -0 $app || exit 1; sleep 2; done
[ -s "$serve" ] || { echo "the app did not start" >&2; exit 1; }
url=$(sed -n 1p "$serve" | sed 's#localhost#127.0.0.1#; s#/$##')
export KEY; KEY=$(sed -n 2p "$serve")
run() { FLOOR=$1 wrk -t1 -c"$connections" -d"$2"s -s bench/wrk/holds.lua "$url"; }
# Warm-ups (not measured), each followed by a pause so the runtime's tier-1 code is in place: the first tens of
# seconds after a start are slower (the JIT, the heap's first sizing).
run 0 "$warm" > /dev/null; sleep 8
settling=
if [ "$settle" -gt 0 ]; then
  wrk -t1 -c"$settle" -d"$seconds"s -s bench/wrk/usage.lua "$url" > "$log.settle" &
  settling=$!
fi
echo "holds, $connections connections$([ -n "$settling" ] && echo ", with $settle connections posting settling events"):"
run 0 "$seconds" | grep -E '^[0-9]+ requests|^p|^max|Non-2xx'
if [ -n "$settling" ]; then wait $settling; echo "settling events: $(cat "$log.settle" | grep -E '^[0-9]+ events')"; fi
run 1 10 > /dev/null; sleep 5
echo "floor (refused, 400), $connections connections:"; run 1 "$seconds" | grep -E '^[0-9]+ requests|^p|^max|Non-2xx'
echo "stopping the app ..."
pkill -f -- "LoadBench.dll --serve [0-9]+ --serve-file $serve"
wait $app
