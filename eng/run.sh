#!/usr/bin/env bash
# Runs the whole app: Redis, RabbitMQ, ApiService, WorkerService and the Aspire dashboard (Ctrl+C stops all).
set -euo pipefail
cd "$(dirname "$0")/.."
. eng/prerequisites.sh
ensure_infrastructure
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
echo "Starting the AppHost; the dashboard URL is printed below (http://localhost:15180)."
exec dotnet run --project AppHost --launch-profile http "$@"
