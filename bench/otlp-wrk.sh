#!/usr/bin/env bash
# OTLP single spans against JSON single events with wrk as the generator (#33): the same app, warm, loaded by wrk
# with 2 threads × CONNECTIONS (256) connections, one JSON event a request (bench/wrk/usage.lua) against one GenAI span
# an OTLP/HTTP protobuf export (bench/wrk/otlp.lua), in PAIRS (6) alternating pairs of MEASURE_SECONDS (15) each, the
# pair's first side alternating too. wrk's own cost a request is small and alike for both scripts, where the .NET
# generator of bench/run.sh --otlp-pairs builds a protobuf export at about three times the cost of a JSON event on
# the two cores the app uses. Before the pairs, WARM_SECONDS (20) of each script unmeasured; after each phase the
# worker drains (its CPU goes quiet) before the next starts. For each phase: requests/s, p99, and the app's CPU a
# request, in all and for the API, the worker, Redis and RabbitMQ (/proc user + kernel time over the phase and its
# drain), and the whole machine's (/proc/stat: wrk and the kernel's interrupts too). Every 2xx answer must be counted:
# the admin report's request total is checked at the end. The app is started as bench/run.sh starts it (Release,
# ReadyToRun). DELAY_MS (0) paces each connection (a pause between its requests), so that both sides run at about
# the same rate below the machine's limit and their CPU a request compares at that rate. SLICE_SECONDS (off) runs
# SLICES (40) alternating slices of that many seconds instead of the pairs, with no drain between them: this machine's
# speed moves within a minute, so two 15 s phases a minute apart can differ by a third from that alone, and short
# slices spread its moves over both sides alike; the rates only (a slice's CPU would carry the previous one's backlog).
# Needs wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk > /dev/null || { echo "wrk is not installed: sudo apt-get install wrk" >&2; exit 1; }
connections=${CONNECTIONS:-256} pairs=${PAIRS:-6} warm=${WARM_SECONDS:-20} measure=${MEASURE_SECONDS:-15} delay=${DELAY_MS:-0}

. bench/serve.sh
if [ "${SLICE_SECONDS:-0}" != 0 ]; then
  serve_app $((2 * warm + 2 * ${SLICES:-40} * (SLICE_SECONDS + 5) + 300))
else
  serve_app $((2 * warm + 2 * pairs * (measure + 30) + 300))
fi

api=$(busiest LlmCostTracker.ApiService) worker=$(busiest LlmCostTracker.WorkerService)
redis=$(pgrep -d' ' -x redis-server || true) rabbit=$(pgrep -d' ' -f beam.smp || true)
# The worker drains what the broker holds: quiet once it uses under 2% of a core over QUIET_SECONDS (2.5), longer than
# the rollup writer's round (History:FlushInterval, 2 s), so that a phase's rollups are in its own figure and not the
# next phase's (over half a second, as before, a pause between two rounds passed for quiet). After 90 s the phase is
# measured as it stands, with a warning (its CPU figures then leave out what the worker still had to do).
quiet=${QUIET_SECONDS:-2.5}
drain() {
  local limit tries
  limit=$(awk -v q="$quiet" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%d", q * hz * 0.02 }')
  tries=$(awk -v q="$quiet" 'BEGIN { printf "%d", 90 / q }')
  for _ in $(seq 1 "$tries"); do
    local a; a=$(ticks "$worker"); sleep "$quiet"
    [ $(($(ticks "$worker") - a)) -le "$limit" ] && return 0
  done
  echo "warning: the worker did not go quiet within 90 s" >&2
}
# The machine's busy time (/proc/stat: every process and the kernel, wrk included), in the same ticks.
busy() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
all_ticks() { echo "$(ticks "$api") $(ticks "$worker") $(ticks $redis) $(ticks $rabbit) $(busy)"; }
# One phase: wrk with script $1 for $2 seconds; prints "<requests/s> <p99> <2xx> <not 2xx> <CPU>", the CPU as
# "app µs: API, worker, Redis, RabbitMQ" a request.
phase() {
  local out before after
  before=$(all_ticks)
  out=$(HOLDS=0 DELAY_MS="$delay" wrk -t2 -c"$connections" -d"$2"s --latency -s "$1" "$url")
  [ "${3:-}" = undrained ] || drain
  after=$(all_ticks)
  awk -v before="$before" -v after="$after" -v hz="$(getconf CLK_TCK)" '
    /requests in/ { n = $1 } /Non-2xx/ { bad = $NF } /^Requests\/sec/ { r = $2 } $1 == "99%" { p = $2 }
    END {
      split(before, b, " "); split(after, a, " "); total = 0
      for (i = 1; i <= 4; i++) { us[i] = (a[i] - b[i]) / hz / n * 1e6; total += us[i] }
      machine = (a[5] - b[5]) / hz / n * 1e6
      printf "%.0f %s %d %d %.1f µs: %.1f, %.1f, %.1f, %.1f; the machine %.1f\n", r, p, n - bad, bad + 0, total, us[1], us[2], us[3], us[4], machine
    }' <<< "$out"
}

before=$(requests_counted)
accepted=0 bad=0
echo "warming up: $warm s of each script ..."
for script in bench/wrk/usage.lua bench/wrk/otlp.lua; do
  read -r _ _ ok no _ < <(phase "$script" "$warm"); accepted=$((accepted + ok)) bad=$((bad + no))
done
if [ "${SLICE_SECONDS:-0}" != 0 ]; then
  slices=${SLICES:-40} json=() spans=() p99s=()
  for i in $(seq 1 "$slices"); do
    order=(usage otlp); [ $((i % 2)) -eq 0 ] && order=(otlp usage)
    for side in "${order[@]}"; do
      read -r rate p99 ok no _ < <(phase "bench/wrk/$side.lua" "$SLICE_SECONDS" undrained)
      accepted=$((accepted + ok)) bad=$((bad + no))
      if [ "$side" = usage ]; then json+=("$rate"); else spans+=("$rate"); p99s+=("$p99"); fi
    done
  done
  drain
  # The sides' mean rates, and each slice pair's ratio: their mean, median, range and how many are at or above 100%.
  rates=$(paste <(printf '%s\n' "${json[@]}") <(printf '%s\n' "${spans[@]}"))
  awk '{ j += $1; o += $2 } END { printf "%d slice pairs: JSON %.0f events/s, OTLP %.0f spans/s on average: %.1f %%\n", NR, j / NR, o / NR, o / j * 100 }' <<< "$rates"
  awk '{ printf "%.2f\n", $2 / $1 * 100 }' <<< "$rates" | sort -n | awk '
    { r[NR] = $1; t += $1; if ($1 >= 100) above++ }
    END { printf "the slice pairs'"'"' ratios: mean %.1f %%, median %.1f %%, %d of %d at or above 100 %%, range %.0f–%.0f %%\n",
      t / NR, NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2, above, NR, r[1], r[NR] }'
  echo "OTLP p99 per slice: ${p99s[*]}"
  pairs=$slices
else
echo
echo "| pair | first | JSON events/s (p99; the app's CPU a request: API, worker, Redis, RabbitMQ; the machine's, wrk included) | OTLP spans/s (p99; the app's CPU a span) | spans / events |"
echo "| --- | --- | --- | --- | --- |"
sum=0
for i in $(seq 1 "$pairs"); do
  order=(usage otlp); [ $((i % 2)) -eq 0 ] && order=(otlp usage)
  for side in "${order[@]}"; do
    read -r rate p99 ok no cpu < <(phase "bench/wrk/$side.lua" "$measure")
    accepted=$((accepted + ok)) bad=$((bad + no))
    printf -v "$side" '%s (%s; %s)' "$rate" "$p99" "$cpu"
    printf -v "${side}_rate" '%s' "$rate"
  done
  ratio=$(awk -v a="$otlp_rate" -v b="$usage_rate" 'BEGIN { printf "%.0f", a / b * 100 }')
  sum=$((sum + ratio))
  echo "| $i | $([ "${order[0]}" = usage ] && echo JSON || echo OTLP) | $usage | $otlp | $ratio % |"
done
echo "mean of the pairs' ratios: $((sum / pairs)) %"
fi
# wrk stops with a request in flight on each connection: the app may count those too (202 sent to a closed socket).
in_flight=$(((2 + 2 * pairs) * connections)) counted=0
for _ in $(seq 1 600); do counted=$(($(requests_counted) - before)); [ "$counted" -ge "$accepted" ] && break; sleep 0.1; done
echo "events counted / answered 2xx: $counted / $accepted (up to $in_flight more in flight when wrk stopped); answers not 2xx: $bad"
[ "$counted" -ge "$accepted" ] && [ "$counted" -le $((accepted + in_flight)) ] && [ "$bad" -eq 0 ]
