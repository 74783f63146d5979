#!/usr/bin/env bash
# Makes a Pulumi CLI of the version the project's Automation API expects available, and prints
# its path. Uses `pulumi` from PATH when it is that version or newer; otherwise builds it from
# source through the Go module proxy (tools/pulumi pins it, in a module of its own so the
# project's go.mod never carries the CLI's dependencies) and caches the binary.
set -euo pipefail

want=v3.250.0
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${BYOC_ACCESS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/byoc-access}
bin=$cache/pulumi-$want/pulumi

version_ok() {
  # sort -V puts the smaller version first; ok when $want is not greater than $1.
  [ "$(printf '%s\n%s\n' "${want#v}" "${1#v}" | sort -V | head -n1)" = "${want#v}" ]
}

if command -v pulumi >/dev/null 2>&1; then
  have=$(pulumi version 2>/dev/null || true)
  if [ -n "$have" ] && version_ok "$have"; then
    command -v pulumi
    exit 0
  fi
fi

if [ -x "$bin" ] && [ "$("$bin" version 2>/dev/null)" = "$want" ]; then
  echo "$bin"
  exit 0
fi

echo "building the Pulumi CLI $want from source (about 5 minutes on 2 cores; cached in $cache)" >&2
mkdir -p "$(dirname "$bin")"
tmp=$(mktemp "$bin.XXXXXX")
(
  cd "$here/tools/pulumi"
  go build -trimpath \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$want" \
    -o "$tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
) >&2
mv "$tmp" "$bin"
echo "$bin"
