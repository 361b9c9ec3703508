#!/usr/bin/env bash
# Runs the whole app: Redis, RabbitMQ, ApiService, WorkerService, the cost dashboard and the Aspire dashboard
# (Ctrl+C stops all).
set -euo pipefail
cd "$(dirname "$0")/.."
. eng/prerequisites.sh
ensure_infrastructure
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# The ports are the launch profiles' (AppHost, ApiService, CostDashboard); LaunchPortTests keeps them apart.
cat <<'URLS'
Starting the AppHost. Once it is up:
  Aspire dashboard (resources, traces, logs): http://localhost:15180
  Cost dashboard:                             http://localhost:5390
      sign in with the admin key: dotnet user-secrets list --project AppHost | sed -n 's/^Parameters:admin-api-key = //p'
  API health:                                 http://localhost:5380/health
  API reference (try the endpoints):          http://localhost:5380/scalar
      its ingest key:             dotnet user-secrets list --project AppHost | sed -n 's/^Parameters:ingest-api-key = //p'
  OpenTelemetry GenAI spans in (docs/otlp-ingestion.md): OTLP/HTTP on the API's port 5380 (POST /v1/traces),
      OTLP/gRPC on port 5387, both with the ingest key
URLS
exec dotnet run --project AppHost --launch-profile http "$@"
