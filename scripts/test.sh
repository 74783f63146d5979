#!/usr/bin/env bash
# Runs every check the project has, on a fresh machine: installs what the tests need (the
# Pulumi CLI, built from source and cached; moto for the AWS API tests), then gofmt, go vet
# and go test. This is the command README.md gives and .ci/run calls.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n== %s\n' "$*"; }

step "Pulumi CLI"
PULUMI_CLI=$(scripts/install-pulumi.sh)
export PULUMI_CLI
"$PULUMI_CLI" version

step "AWS provider"
# Deploy tests need pulumi-resource-aws. Where the real plugin is not installed, the test
# provider (the Terraform AWS provider served through Pulumi's dynamic bridge) stands in.
if aws_plugin=$(command -v pulumi-resource-aws 2>/dev/null); then
  echo "the real pulumi-resource-aws: $aws_plugin"
elif BYOC_TEST_PROVIDER_DIR=$(scripts/install-testprovider.sh); then
  export BYOC_TEST_PROVIDER_DIR
  echo "the test provider: $BYOC_TEST_PROVIDER_DIR"
else
  echo "no AWS provider could be had: the deploy tests will skip and say so (fail under CI)" >&2
fi

step "Pulumi language hosts (Go, Node.js, YAML)"
# The program tests (examples/) run Go, TypeScript and YAML programs through the CLI, which
# needs a language host per runtime. The official CLI archive ships them beside the CLI; the
# CLI built from source has none, so they are built and cached here. The tests use them only
# where the CLI has none of its own, and log which host served.
if BYOC_LANGUAGE_HOSTS_DIR=$(scripts/install-language-hosts.sh); then
  export BYOC_LANGUAGE_HOSTS_DIR
  ls "$BYOC_LANGUAGE_HOSTS_DIR"
else
  echo "the language hosts could not be built: the program tests will skip and say so (fail under CI)" >&2
fi

step "npm packages of the TypeScript example"
if BYOC_NODE_MODULES_DIR=$(scripts/install-node-modules.sh); then
  export BYOC_NODE_MODULES_DIR
  echo "$BYOC_NODE_MODULES_DIR"
else
  echo "the TypeScript example's npm packages could not be installed: its test will skip and say so (fail under CI)" >&2
fi

step "moto (AWS API emulator)"
if ! command -v moto_server >/dev/null 2>&1; then
  echo "moto_server not found; installing moto[server] with pip" >&2
  python3 -m pip install --quiet 'moto[server]>=5.0' || {
    echo "could not install moto: the AWS API tests will skip and say so" >&2
  }
fi
command -v moto_server >/dev/null 2>&1 && moto_server --version 2>/dev/null | head -n1 || true

step "strace (the kill tests place a SIGKILL at an exact system call with it)"
if ! command -v strace >/dev/null 2>&1; then
  { apt-get install -y -qq strace >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq strace >/dev/null 2>&1; }; } ||
    echo "could not install strace: the kill tests that need it will skip and say so (fail under CI)" >&2
fi
command -v strace || true

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './tools/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi

step "go vet"
go vet ./...
# The multi-language provider is its own module, so the root go.mod never carries the
# Pulumi engine packages that pulumi-go-provider needs.
(cd provider && go vet ./...)
# The Go example is a module of its own, as a user's program is.
(cd examples/go && go vet ./...)

step "go test"
# The Automation API tests start real Pulumi CLI processes; keep the package parallelism
# low on small machines so they do not time out against each other. The fleet driver, where
# runs share state across goroutines, runs under the race detector, beside the CLI's tests
# (the real-provider lifecycle among them), which spend their time in CLI and provider
# processes rather than in Go code the detector could check.
go test -count=1 -p 2 -timeout 15m $(go list ./... | grep -v -e '/rollout$' -e '/rollout/' -e '/cmd/rollout$') "$@"
go test -race -count=1 -p 2 -timeout 15m ./rollout/... "$@" &
race=$!
# The CLI's package holds the real-provider lifecycle and the three-wave rollout with its halts,
# rollbacks and resumes (several minutes each beside the race run), hence its longer bound.
go test -count=1 -timeout 30m ./cmd/rollout/ "$@"
wait "$race"
(cd provider && go test -count=1 -timeout 5m ./...)
