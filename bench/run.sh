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
# As deployed: the API and the worker compiled ahead of time (ReadyToRun, PublishReadyToRun in their .csproj),
# published over the Release build output that the AppHost starts. Without it the first seconds after a start run
# tier-0 code (BENCHMARKS.md, #36). BENCH_READY_TO_RUN=0 measures the build output as it is (JIT only).
if [ "${BENCH_READY_TO_RUN:-1}" != 0 ]; then
  rid=$(dotnet --info | awk '$1 == "RID:" { print $2; exit }')
  for project in ApiService WorkerService; do
    dotnet publish $project -c Release -r "$rid" --self-contained false -o $project/bin/Release/net10.0 -v q -nologo
  done
fi
dotnet bench/LoadBench/bin/Release/net10.0/LlmCostTracker.LoadBench.dll "$@"
