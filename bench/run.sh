#!/usr/bin/env bash
# The load benchmark: starts the whole app in Release, drives it, prints one table (see BENCHMARKS.md).
# Arguments go to the benchmark, e.g. --quick, or --single 100000 --concurrency 256 --batch-events 1000000.
set -euo pipefail
cd "$(dirname "$0")/.."
. eng/prerequisites.sh
ensure_infrastructure
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 ASPIRE_ALLOW_UNSECURED_TRANSPORT=true
# The generator runs its socket continuations on the epoll thread instead of handing each to the thread pool
# (perf: 83% of its samples were in the kernel, mostly context switches); it then costs about half the CPU, as a
# C load tool would. The services are started with the runtime's default (bench/LoadBench/Program.cs).
export DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1
dotnet build bench/LoadBench -c Release -v q -nologo
dotnet bench/LoadBench/bin/Release/net10.0/LlmCostTracker.LoadBench.dll "$@"
