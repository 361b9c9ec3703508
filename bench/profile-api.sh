#!/usr/bin/env bash
# Where the API's CPU goes under single-event load (issue #36): starts the app as bench/run.sh does (--serve), with
# the API writing a perf map (JIT'd methods by name; W^X off so perf can read them), drives it with wrk for a warm-up,
# then samples the API with perf while wrk posts one event a request, and prints the share of its CPU by module
# (the kernel, the runtime, each assembly's JIT'd code) and the hottest methods. Needs wrk and perf (apt-get install
# wrk linux-perf). CONNECTIONS (256), WARM_SECONDS (40) and SAMPLE_SECONDS (12) tune it; TARGET=worker samples the
# worker instead (its CPU a request is then the worker's a posted event); SCRIPT=bench/wrk/otlp.lua posts one OTLP
# span an export (protobuf) instead of one JSON event a request.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in wrk perf; do command -v $tool > /dev/null || { echo "$tool is not installed: sudo apt-get install wrk linux-perf" >&2; exit 1; }; done
connections=${CONNECTIONS:-256} warm=${WARM_SECONDS:-40} sample=${SAMPLE_SECONDS:-12} target=${TARGET:-api} script=${SCRIPT:-bench/wrk/usage.lua}
case $target in
  api) prefix=BENCH_API_ process=LlmCostTracker.ApiService ;;
  worker) prefix=BENCH_WORKER_ process=LlmCostTracker.WorkerService ;;
  *) echo "TARGET is api or worker" >&2; exit 1 ;;
esac
data=$(mktemp)
. bench/serve.sh
serve_app $((warm + sample + 120)) "${prefix}DOTNET_PerfMapEnabled=1" "${prefix}DOTNET_EnableWriteXorExecute=0"
load() { HOLDS=0 DELAY_MS=0 wrk -t2 -c"$connections" -d"$1"s -s "$script" "$url"; }
load "$warm" > /dev/null
api=$(busiest "$process")
load $((sample + 8)) > "$data.wrk" &
loading=$!
sleep 4
ticks() { awk '{ print $14 + $15 }' "/proc/$api/stat"; }
before=$(ticks)
perf record -e cpu-clock -F 999 -g -p "$api" -o "$data" -- sleep "$sample" 2> /dev/null
after=$(ticks)
wait $loading
rate=$(sed -n 's/^Requests\/sec: *//p' "$data.wrk")
# The script's own summary (for otlp.lua, how many answers were not 2xx: a malformed export would be refused fast).
grep -E " (events|exports) in " "$data.wrk" || true
# /proc's user + kernel time of the API over the sampled seconds, at wrk's rate over its whole run.
awk -v d=$((after - before)) -v hz="$(getconf CLK_TCK)" -v r="$rate" -v t="$sample" \
  -v who="$target" 'BEGIN { printf "wrk: %.0f requests/s; the %s used %.2f s of CPU in %d s: %.1f µs a request\n", r, who, d / hz, t, d / hz / (r * t) * 1e6 }'
perf report -i "$data" --no-children --sort dso,sym --stdio -g none 2> /dev/null | grep -v '^#' | python3 bench/perf-modules.py
rm -f "$data" "$data.wrk"
