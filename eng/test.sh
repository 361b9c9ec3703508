#!/usr/bin/env bash
# Runs every test (unit tests and integration tests against the real app) and prints "N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."
. eng/prerequisites.sh
ensure_infrastructure
ensure_browser
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# Live processes only: an exited one not yet reaped by its parent (state Z) is no longer running.
servers() { ps -eo pid=,stat=,comm=,args= | awk '$2 !~ /^Z/ && ($3 == "epmd" || $3 == "redis-server" || $0 ~ /beam\.smp/) { print $1 }' | sort; }
before=$(servers)
log=$(mktemp)
set +e
dotnet test Aspire.sln "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
summary=$(grep -E "(Passed|Failed)!? +- +Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+" "$log" | tail -n 1 || true)
rm -f "$log"
if [ -n "$summary" ]; then
  failed=$(sed -E 's/.*Failed: +([0-9]+),.*/\1/' <<<"$summary")
  passed=$(sed -E 's/.*Passed: +([0-9]+),.*/\1/' <<<"$summary")
  skipped=$(sed -E 's/.*Skipped: +([0-9]+),.*/\1/' <<<"$summary")
  echo "$passed passed, $failed failed, $skipped skipped"
fi
# The suite must leave nothing running: every app it starts stops its Redis, RabbitMQ and Erlang's port mapper
# (processes that were there before it, e.g. a run in another terminal, are not its own).
left=$(comm -13 <(echo "$before") <(servers))
if [ -n "$left" ]; then
  echo "The tests left processes running:" >&2
  ps -o pid=,args= -p "$(tr '\n' ',' <<<"$left" | sed 's/,$//')" >&2 || true
  [ "$status" = 0 ] && status=1
fi
exit "$status"
