#!/usr/bin/env bash
# Benchmarks, separate from the tests (run them on an otherwise idle machine):
#
#  - BenchmarkFleet: the streamnative preset rolled out into moto organizations of N member
#    accounts through the AWS provider the tests use (the real pulumi-resource-aws where
#    installed, else the test provider; the output says which), three ways in the same run:
#    the rollout binary at --parallel 8, the naive Automation API loop, and StreamNative's own
#    Terraform module v3.25.0 (from ../shared, or BYOC_SHARED_DIR) 8 accounts at a time. For
#    each: first rollout, unchanged re-run, plan, drift; CPU and lifetime per process; peak
#    memory of the process tree.
#  - BenchmarkDiscover1000: account discovery over 1,000 accounts.
#  - BenchmarkFleetScale (only when BYOC_BENCH_SCALE is set, such as 1000 or 200,1000): the
#    rollout alone over N accounts at its default parallelism (BYOC_BENCH_SCALE_PARALLEL to set
#    one) on an S3 backend in moto (BYOC_BENCH_SCALE_BACKEND=file for
#    a file backend): first rollout, unchanged re-run, plan, drift, status, handoff, destroy.
#
# BYOC_BENCH_SIZES=10,50 picks N (default 10,50); BYOC_BENCH_PARALLEL the parallelism
# (default 8); BYOC_BENCH_SIDES=rollout,terraform the sides of BenchmarkFleet (default all
# three); BYOC_BENCH_CA_BUNDLE=machine runs every side with the machine's AWS_CA_BUNDLE (or a
# path: that bundle; unset: none). BYOC_BENCH_FLEET=0 leaves BenchmarkFleet out.
# BYOC_BENCH_COMPONENT_ONLY=1 also runs the component-only engine benchmark (no AWS provider:
# the CLI and engine overhead alone).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PULUMI_CLI=$(scripts/install-pulumi.sh)
export PULUMI_CLI
export PULUMI_SKIP_UPDATE_CHECK=true CHECKPOINT_DISABLE=1
# A missing prerequisite (moto, terraform, the plugin mirror, ../shared) fails the run instead
# of skipping a benchmark quietly: a benchmark run without numbers is no result.
export BYOC_REQUIRE_INTEGRATION=1

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/rollout" ./cmd/rollout
export BYOC_BENCH_ROLLOUT=$tmp/rollout

cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
load=$(cut -d' ' -f1-3 /proc/loadavg)
tf=$(terraform version 2>/dev/null | head -1 || echo "terraform: not installed")
moto=$(python3 -c 'import moto; print("moto", moto.__version__)' 2>/dev/null || echo "moto: unknown version")
echo "machine: $(nproc) cores ($cpu), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
  "load average $load at the start; $(go version | cut -d' ' -f3), pulumi $("$PULUMI_CLI" version), $tf, $moto"

go test -run '^$' -bench BenchmarkDiscover1000 -benchtime 3x ./rollout/targets/
if [ "${BYOC_BENCH_FLEET:-1}" != 0 ]; then
  go test -run '^$' -bench '^BenchmarkFleet$' -benchtime 1x -timeout 4h ./rollout/
fi
if [ -n "${BYOC_BENCH_SCALE:-}" ]; then
  go test -run '^$' -bench '^BenchmarkFleetScale$' -benchtime 1x -timeout 6h ./rollout/
fi
if [ "${BYOC_BENCH_COMPONENT_ONLY:-}" = 1 ]; then
  go test -run '^$' -bench '^BenchmarkFleetComponentOnly$' -benchtime 1x -timeout 3h ./rollout/
fi
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
