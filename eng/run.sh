#!/usr/bin/env bash
# Runs the whole app: Redis, RabbitMQ, ApiService, WorkerService, the cost dashboard and the Aspire dashboard
# (Ctrl+C stops all).
set -euo pipefail
cd "$(dirname "$0")/.."
. eng/prerequisites.sh
ensure_infrastructure
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
echo "Starting the AppHost; the Aspire dashboard URL is printed below (http://localhost:15180)."
echo "The cost dashboard: http://localhost:5390 (sign in with the admin key:"
echo "  dotnet user-secrets list --project AppHost | sed -n 's/^Parameters:admin-api-key = //p')"
exec dotnet run --project AppHost --launch-profile http "$@"
