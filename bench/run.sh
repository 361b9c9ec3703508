#!/usr/bin/env bash
# The load benchmark: starts the whole app in Release, drives it, prints one table (see BENCHMARKS.md).
# Arguments go to the benchmark, e.g. --quick, or --single 100000 --concurrency 128 --batch-events 1000000.
set -euo pipefail
cd "$(dirname "$0")/.."
. eng/prerequisites.sh
ensure_infrastructure
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 ASPIRE_ALLOW_UNSECURED_TRANSPORT=true
dotnet build bench/LoadBench -c Release -v q -nologo
dotnet bench/LoadBench/bin/Release/net10.0/LlmCostTracker.LoadBench.dll "$@"
