#!/usr/bin/env bash
# Benchmarks, separate from the tests: the fleet rollout against the naive Automation API loop
# (first rollout, unchanged re-run, plan) over moto organizations of N accounts, and account
# discovery over 1,000 accounts. BYOC_BENCH_SIZES=10,50 picks N (default 10,50,200).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PULUMI_CLI=$(scripts/install-pulumi.sh)
export PULUMI_CLI
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(go version | cut -d' ' -f3), pulumi $("$PULUMI_CLI" version)"
go test -run '^$' -bench BenchmarkDiscover1000 -benchtime 3x ./rollout/targets/
go test -run '^$' -bench BenchmarkFleet -benchtime 1x -timeout 3h ./rollout/
