# Sourced by the wrk-driven scripts (bench/peer.sh, bench/profile-api.sh, bench/otlp-wrk.sh), from the repository's
# root. serve_app SECONDS [NAME=VALUE ...] starts the app as bench/run.sh starts it (Release, the services compiled
# ReadyToRun), serving for SECONDS, with the assignments in its environment (BENCH_API_..., BENCH_WORKER_...), and
# waits until it is healthy: the build comes first, up to ten minutes on a fresh clone. It sets url, KEY (the ingest
# key, exported for the wrk scripts), ADMIN and app_log (the app's output); stop_app stops it, and runs on exit.
# busiest PATTERN names a service's own process.
serve_app() {
  serve_file=$(mktemp -u) app_log=$(mktemp)
  echo "starting the app (its output in $app_log) ..."
  env "${@:2}" bash bench/run.sh --quick --serve "$1" --serve-file "$serve_file" > "$app_log" 2>&1 &
  app_pid=$!
  trap stop_app EXIT
  for _ in $(seq 1 6000); do [ -s "$serve_file" ] && break; kill -0 "$app_pid" || exit 1; sleep 0.1; done
  [ -s "$serve_file" ] || { echo "the app did not start" >&2; exit 1; }
  url=$(sed -n 1p "$serve_file" | sed 's#localhost#127.0.0.1#; s#/$##')
  export KEY; KEY=$(sed -n 2p "$serve_file"); ADMIN=$(sed -n 3p "$serve_file")
}

stop_app() {
  pkill -f -- "LoadBench.dll --quick --serve [0-9]+ --serve-file $serve_file" 2> /dev/null || true
  wait "$app_pid" 2> /dev/null || true
}

# The live process matching PATTERN that has used the most CPU: a service's own (a project may be started through a
# launcher whose command line names it too; a killed one may linger as a zombie).
busiest() {
  for p in $(pgrep -f "$1"); do awk -v p="$p" '$3 != "Z" { print $14 + $15, p }' "/proc/$p/stat" 2> /dev/null; done | sort -n | tail -1 | cut -d' ' -f2
}

# The CPU ticks (/proc user + kernel time) the processes PIDs... have used, summed; 0 for one that is gone.
ticks() { for p in $*; do awk '{ print $14 + $15 }' "/proc/$p/stat" 2> /dev/null || echo 0; done | awk '{ s += $1 } END { print s }'; }

# The requests the admin report counts this month: every accepted event, once counted by the worker.
# Read with bash alone: the scripts poll this every 0.1 s while the app drains, and a python3 start a poll cost more
# than half a core of the two the app was being measured on (docs/benchmarks-history.md, stop 61).
requests_counted() {
  local report
  report=$(curl -sf -H "X-Admin-Key: $ADMIN" "$url/api/v1/admin/llm-costs?top=1") || return 1
  [[ $report =~ \"totals\":\{[^}]*\"requests\":([0-9]+) ]] || { echo "no totals.requests in the report: $report" >&2; return 1; }
  echo "${BASH_REMATCH[1]}"
}
