#!/usr/bin/env bash
# The floor under the API's CPU a request (#36): bench/KestrelFloor (Kestrel answering POST /api/v1/llm-usage with the
# API's 202 and no other work, on the API's runtime settings, published ReadyToRun as bench/run.sh publishes the API)
# loaded by wrk exactly as bench/otlp-wrk.sh loads the API with single JSON events (bench/wrk/usage.lua, 2 threads ×
# CONNECTIONS (256) connections, DELAY_MS (0) between a connection's requests). After WARM_SECONDS (20) unmeasured,
# ROUNDS (3) of MEASURE_SECONDS (15): requests/s, p99, and the floor's CPU a request (/proc user + kernel time) and
# the machine's (/proc/stat, wrk included). Compare with the API's figure at about the same rate, measured back to
# back (bench/otlp-wrk.sh, whose DELAY_MS sets the rate): the kernel's part a request moves with the rate.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk > /dev/null || { echo "wrk is not installed: sudo apt-get install wrk" >&2; exit 1; }
connections=${CONNECTIONS:-256} rounds=${ROUNDS:-3} warm=${WARM_SECONDS:-20} measure=${MEASURE_SECONDS:-15} delay=${DELAY_MS:-0}
port=${PORT:-5399} project=bench/KestrelFloor
rid=$(dotnet --info | sed -n 's/^ *RID: *//p' | head -1)
dotnet publish $project -c Release -r "$rid" --self-contained false -o $project/bin/floor -v q -nologo > /dev/null
ASPNETCORE_URLS="http://127.0.0.1:$port" $project/bin/floor/LlmCostTracker.KestrelFloor > /dev/null 2>&1 &
floor=$!
trap 'kill $floor 2> /dev/null || true; wait $floor 2> /dev/null || true' EXIT
up() { curl -s -o /dev/null -X POST "http://127.0.0.1:$port/api/v1/llm-usage"; }
for _ in $(seq 1 100); do up && break; sleep 0.1; done
up || { echo "the floor did not answer on port $port" >&2; exit 1; }
ticks() { awk '{ print $14 + $15 }' "/proc/$floor/stat"; }
busy() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
phase() {
  local before machine out
  before=$(ticks) machine=$(busy)
  out=$(KEY=floor HOLDS=0 DELAY_MS="$delay" wrk -t2 -c"$connections" -d"$1"s --latency -s bench/wrk/usage.lua "http://127.0.0.1:$port")
  awk -v before="$before" -v after="$(ticks)" -v m0="$machine" -v m1="$(busy)" -v hz="$(getconf CLK_TCK)" '
    /requests in/ { n = $1 } /Non-2xx/ { bad = $NF } /^Requests\/sec/ { r = $2 } $1 == "99%" { p = $2 }
    END { printf "| %.0f | %s | %.1f µs | %.1f µs | %d |\n", r, p, (after - before) / hz / n * 1e6, (m1 - m0) / hz / n * 1e6, bad + 0 }' <<< "$out"
}
echo "warming up: $warm s ..."
phase "$warm" > /dev/null
echo "| requests/s | p99 | the floor's CPU a request | the machine's, wrk included | answers not 2xx |"
echo "| --- | --- | --- | --- | --- |"
for _ in $(seq 1 "$rounds"); do phase "$measure"; done
