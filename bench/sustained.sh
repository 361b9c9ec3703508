#!/usr/bin/env bash
# Whether the worker keeps up under sustained single events (#36): the app as bench/run.sh starts it (Release,
# ReadyToRun), warmed by WARM_SECONDS (20) of wrk, then LOAD_SECONDS (60) of wrk with 2 threads × CONNECTIONS (256)
# connections posting one event a request (bench/wrk/usage.lua). Prints the rate, the p99, the app's CPU an event by
# process (/proc, from the load's start until the totals are exact), how many of the load's events the admin report
# did not count yet when wrk ended, and how long after that it counted all of them. A worker that keeps up leaves a
# few writes' worth behind; one that falls behind leaves a share that grows with LOAD_SECONDS. BENCH_WORKER_... and
# BENCH_API_... assignments in the environment reach the services (bench/LoadBench/Program.cs), e.g.
# BENCH_WORKER_Aggregation__ConcurrentMessages=80. SCRIPT=bench/wrk/batch.lua posts batches instead (BATCH events a
# request, 1,000 by default; use few CONNECTIONS, e.g. 16): then the end-to-end rate (the load's events over the time
# from its start until all are counted) says what the app sustains when the generator costs little. SETTLE_SECONDS
# (300) bounds the wait for the totals. Needs wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk > /dev/null || { echo "wrk is not installed: sudo apt-get install wrk" >&2; exit 1; }
connections=${CONNECTIONS:-256} warm=${WARM_SECONDS:-20} load=${LOAD_SECONDS:-60} script=${SCRIPT:-bench/wrk/usage.lua}
settle_seconds=${SETTLE_SECONDS:-300} per_request=1
case $script in *batch.lua) per_request=${BATCH:-1000} ;; esac

. bench/serve.sh
serve_app $((warm + load + 300))

api=$(busiest LlmCostTracker.ApiService) worker=$(busiest LlmCostTracker.WorkerService)
redis=$(pgrep -d' ' -x redis-server || true) rabbit=$(pgrep -d' ' -f beam.smp || true)
all_ticks() { echo "$(ticks "$api") $(ticks "$worker") $(ticks $redis) $(ticks $rabbit)"; }
# Waits until the report counts at least $1 events; SETTLE_SECONDS at most.
settle() {
  for _ in $(seq 1 $((settle_seconds * 10))); do [ "$(requests_counted)" -ge "$1" ] && return 0; sleep 0.1; done
  echo "the totals did not reach $1 within $settle_seconds s" >&2; exit 1
}
# The events of wrk's 2xx answers in its output: every one of them must be counted.
accepted() { awk -v per="$per_request" '/requests in/ { n = $1 } /Non-2xx/ { bad = $NF } END { print (n - bad) * per }'; }

echo "warming up: $warm s ..."
base=$(requests_counted)
warm_ok=$(HOLDS=0 wrk -t2 -c"$connections" -d"$warm"s -s "$script" "$url" | accepted)
settle $((base + warm_ok))
base=$(requests_counted)
before=$(all_ticks)
started=$(date +%s.%N)
out=$(HOLDS=0 wrk -t2 -c"$connections" -d"$load"s --latency -s "$script" "$url")
ended=$(date +%s.%N)
ok=$(accepted <<< "$out")
behind=$((base + ok - $(requests_counted)))
settle $((base + ok))
exact=$(date +%s.%N)
after=$(all_ticks)
awk -v b="$before" -v a="$after" -v hz="$(getconf CLK_TCK)" -v ok="$ok" -v behind="$behind" -v lag="$(awk -v e="$ended" -v x="$exact" 'BEGIN { print x - e }')" -v whole="$(awk -v s="$started" -v x="$exact" 'BEGIN { print x - s }')" \
  -v load="$load" -v rss="$(awk '/VmRSS/ { print int($2 / 1024) }' "/proc/$worker/status")" '
  /^Requests\/sec/ { r = $2 * '"$per_request"' } $1 == "99%" { p = $2 }
  END {
    split(b, x, " "); split(a, y, " ")
    printf "%d s of load: %.0f events/s, p99 %s; CPU an event: API %.1f, worker %.1f, Redis %.1f, RabbitMQ %.1f µs\n", load, r, p,
      (y[1] - x[1]) / hz / ok * 1e6, (y[2] - x[2]) / hz / ok * 1e6, (y[3] - x[3]) / hz / ok * 1e6, (y[4] - x[4]) / hz / ok * 1e6
    printf "when the load ended: %d of its %d events not counted yet (%.1f%%); all counted %.1f s later; the worker'"'"'s RSS %d MiB\n", behind, ok, 100 * behind / ok, lag, rss
    printf "end to end: %.0f events/s (the load'"'"'s events over the %.1f s from its start until all were counted)\n", ok / whole, whole
  }' <<< "$out"
