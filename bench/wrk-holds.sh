#!/usr/bin/env bash
# Budget hold latency measured by wrk (a C load tool) instead of the .NET generator: starts the app as
# bench/run.sh does (--serve), warms the hold path, then measures holds and the floor (the same request refused).
# Needs wrk (apt-get install wrk). BENCH_API_<name>=<value> reaches the API's environment, as with bench/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk > /dev/null || { echo "wrk is not installed: sudo apt-get install wrk" >&2; exit 1; }
connections=${CONNECTIONS:-5} seconds=${SECONDS_MEASURED:-30}
serve=$(mktemp -u)
log=$(mktemp)
echo "starting the app (its output in $log) ..."
bash bench/run.sh --serve $((seconds * 2 + 60)) --serve-file "$serve" > "$log" 2>&1 &
app=$!
# On a failure the benchmark process is told to stop (it stops the app); otherwise the app ends with its serve time.
trap 'pkill -f -- "--serve-file $serve" 2> /dev/null || true; wait $app 2> /dev/null || true' ERR INT TERM
for _ in $(seq 1 150); do [ -s "$serve" ] && break; kill -0 $app || exit 1; sleep 2; done
[ -s "$serve" ] || { echo "the app did not start" >&2; exit 1; }
url=$(sed -n 1p "$serve" | sed 's#localhost#127.0.0.1#; s#/$##')
export KEY; KEY=$(sed -n 2p "$serve")
run() { FLOOR=$1 wrk -t1 -c"$connections" -d"$2"s -s bench/wrk/holds.lua "$url"; }
# Warm-ups (not measured), each followed by a pause so the runtime's tier-1 code is in place.
run 0 20 > /dev/null; sleep 8
echo "holds, $connections connections:"; run 0 "$seconds" | grep -E '^[0-9]+ requests|^p|^max|Non-2xx'
run 1 10 > /dev/null; sleep 5
echo "floor (refused, 400), $connections connections:"; run 1 "$seconds" | grep -E '^[0-9]+ requests|^p|^max|Non-2xx'
echo "waiting for the app to stop ..."
wait $app
