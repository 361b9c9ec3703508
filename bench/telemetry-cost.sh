#!/usr/bin/env bash
# What exporting telemetry costs under load (issue #36): the load benchmark (bench/run.sh, any options, e.g. --quick)
# three times back to back: spans made but exported nowhere (bench/run.sh's default); every span, metric and log
# exported over OTLP/HTTP to a live collector (bench/otlp-sink.py, which reads and drops each export); and the same
# with one trace in ten kept (OTEL_TRACES_SAMPLER=parentbased_traceidratio, OTEL_TRACES_SAMPLER_ARG=0.1, the
# production setting docs/observability.md recommends). Prints each run's throughput and CPU-per-event rows and the
# collector's own figures. Warm: each run warms up as bench/run.sh does.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${SINK_PORT:-43180}
out=$(mktemp -d)
sink() {
  python3 bench/otlp-sink.py "$port" > "$out/sink-$1.txt" &
  sink_pid=$!
}
export_to_sink() {
  for service in API WORKER; do
    export "BENCH_${service}_OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$port"
    export "BENCH_${service}_OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"
  done
}
sample_one_in_ten() {
  for service in API WORKER; do
    export "BENCH_${service}_OTEL_TRACES_SAMPLER=parentbased_traceidratio"
    export "BENCH_${service}_OTEL_TRACES_SAMPLER_ARG=0.1"
  done
}
rows() { grep -E '^\| (single events, end to end|batches, end to end|CPU per event)' "$1" || true; }

echo "== not exported"
bash bench/run.sh "$@" > "$out/none.txt" 2>&1; rows "$out/none.txt"

echo "== every span exported to a live collector"
sink all
( export_to_sink; bash bench/run.sh "$@" > "$out/all.txt" 2>&1 ); rows "$out/all.txt"
kill -TERM $sink_pid; wait $sink_pid || true; cat "$out/sink-all.txt"

echo "== exported, one trace in ten"
sink sampled
( export_to_sink; sample_one_in_ten; bash bench/run.sh "$@" > "$out/sampled.txt" 2>&1 ); rows "$out/sampled.txt"
kill -TERM $sink_pid; wait $sink_pid || true; cat "$out/sink-sampled.txt"
echo "(full outputs in $out)"
