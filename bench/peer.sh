#!/usr/bin/env bash
# The app side by side with the peer (../shared/peer/: the seed's design in Python, run as it would be deployed),
# both loaded by wrk as issue #36 measures them: 2 threads × CONNECTIONS (256) connections, one usage event a request
# (the peer's own usage.lua for both: 1,000 users, seven model ids, one of them unknown). For each side: the first
# COLD_SECONDS (15) from the moment it answers (cold), WARM_SECONDS (20) unmeasured, then MEASURE_SECONDS (15)
# measured (warm). The app is started as bench/run.sh starts it (Release, the services compiled ReadyToRun as
# published); its figures count only once the admin report's request total has grown by the events it accepted (plus
# at most those in flight when wrk stopped). Prints one table.
# Needs wrk and the peer's packages: apt-get install wrk python3-fastapi python3-uvicorn python3-uvloop
# python3-httptools python3-redis (Debian's python3, /usr/bin/python3). PEER_DIR overrides ../shared/peer.
set -euo pipefail
cd "$(dirname "$0")/.."
python=/usr/bin/python3 peer=${PEER_DIR:-../shared/peer}
command -v wrk > /dev/null || { echo "wrk is not installed: sudo apt-get install wrk" >&2; exit 1; }
"$python" -c 'import fastapi, uvicorn, uvloop, httptools, redis' 2> /dev/null || {
  echo "the peer needs: sudo apt-get install python3-fastapi python3-uvicorn python3-uvloop python3-httptools python3-redis" >&2; exit 1; }
[ -f "$peer/app.py" ] || { echo "no peer at $peer (PEER_DIR)" >&2; exit 1; }
connections=${CONNECTIONS:-256} cold=${COLD_SECONDS:-15} warm=${WARM_SECONDS:-20} measure=${MEASURE_SECONDS:-15}

# One wrk run against $1 for $2 seconds, its event ids unique to the run ($3); prints "<requests/s> <p99> <answered
# 2xx> <not 2xx> <timeouts>".
load() {
  local out
  out=$(RUN_ID="$3" INGEST_KEY="${KEY:-}" wrk -t2 -c"$connections" -d"$2"s --latency -s "$peer/usage.lua" "$1")
  awk '/requests in/ { n = $1 } /Non-2xx/ { bad = $NF } /timeout/ { t = $NF } /^Requests\/sec/ { r = $2 }
       $1 == "99%" { p = $2 } END { printf "%.0f %s %d %d %d\n", r, p, n - bad, bad + 0, t + 0 }' <<< "$out"
}
free_port() { "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# Polls until $1 answers anything over HTTP (a 404 too): "from the moment it answers".
wait_answers() {
  for _ in $(seq 1 600); do curl -s -o /dev/null --max-time 1 "$1" && return 0; sleep 0.1; done
  echo "$1 did not answer" >&2; return 1
}

# The app.
. bench/serve.sh
serve_app $((cold + warm + measure + 300))
log=$app_log
pids=()
stop() {
  stop_app
  for pid in "${pids[@]}"; do kill -- -"$pid" 2> /dev/null || true; done
}
trap stop EXIT
before=$(requests_counted)
echo "app: cold ..."; read -r app_cold app_cold_p99 a1 app_bad1 app_t1 < <(load "$url" "$cold" app-cold-$$)
echo "app: warming ..."; read -r _ _ a2 app_bad2 app_t2 < <(load "$url" "$warm" app-warming-$$)
echo "app: warm ..."; read -r app_warm app_warm_p99 a3 app_bad3 app_t3 < <(load "$url" "$measure" app-warm-$$)
# wrk stops with a request in flight on each connection: the app may count those too (202 sent to a closed socket),
# so the count may exceed the answers wrk saw by up to one a connection a run, never fall short.
accepted=$((a1 + a2 + a3)) counted=0 in_flight=$((3 * connections))
for _ in $(seq 1 600); do counted=$(($(requests_counted) - before)); [ "$counted" -ge "$accepted" ] && break; sleep 0.1; done
stop_app

# The peer, against a Redis of its own that keeps nothing on disk.
redis_port=$(free_port) peer_port=$(free_port)
setsid redis-server --port "$redis_port" --save "" --appendonly no --logfile "" > /dev/null &
pids+=($!)
for _ in $(seq 1 100); do redis-cli -p "$redis_port" ping > /dev/null 2>&1 && break; sleep 0.1; done
(cd "$peer" && REDIS_URL="redis://127.0.0.1:$redis_port/1" exec setsid "$python" -m uvicorn app:app --host 127.0.0.1 \
  --port "$peer_port" --workers 2 --log-level warning > "$log.peer" 2>&1) &
pids+=($!)
wait_answers "http://127.0.0.1:$peer_port/"
echo "peer: cold ..."; read -r peer_cold peer_cold_p99 _ peer_bad1 _ < <(load "http://127.0.0.1:$peer_port" "$cold" peer-cold-$$)
echo "peer: warming ..."; load "http://127.0.0.1:$peer_port" "$warm" peer-warming-$$ > /dev/null
echo "peer: warm ..."; read -r peer_warm peer_warm_p99 _ peer_bad3 _ < <(load "http://127.0.0.1:$peer_port" "$measure" peer-warm-$$)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
echo
echo "| wrk, 2 threads × $connections connections, one event a request | cold (first $cold s) | warm ($measure s after $warm s) | cold / warm |"
echo "| --- | --- | --- | --- |"
echo "| the app (202 after the broker's confirm) | $app_cold events/s, p99 $app_cold_p99 | $app_warm events/s, p99 $app_warm_p99 | $(ratio "$app_cold" "$app_warm") |"
echo "| the peer (\`$peer\`, uvicorn, 2 workers) | $peer_cold events/s, p99 $peer_cold_p99 | $peer_warm events/s, p99 $peer_warm_p99 | $(ratio "$peer_cold" "$peer_warm") |"
echo "| the app / the peer | $(ratio "$app_cold" "$peer_cold")× | $(ratio "$app_warm" "$peer_warm")× | |"
echo "| the app's answers not 2xx / timeouts | $app_bad1 / $app_t1 | $app_bad3 / $app_t3 | |"
complete=$([ "$counted" -ge "$accepted" ] && [ "$counted" -le $((accepted + in_flight)) ] && echo yes || echo no)
echo "| the app's events counted / answered 202 (every phase; up to $in_flight more were in flight when wrk stopped) | $counted / $accepted: $([ "$complete" = yes ] && echo "none lost" || echo "NOT complete") | | |"
[ "$complete" = yes ] && [ "$((app_bad1 + app_bad3 + peer_bad1 + peer_bad3))" -eq 0 ]
