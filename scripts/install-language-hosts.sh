#!/usr/bin/env bash
# Makes the Pulumi language hosts the program tests need (pulumi-language-go, -nodejs, -yaml)
# available and prints the folder that holds them. The official CLI archive ships them beside
# the CLI; the CLI built from pkg/v3 (scripts/install-pulumi.sh) does not, so they are built
# here and cached, keyed by version. Tests use them only where the CLI has none of its own.
#
# The Go and Node.js hosts build from their published sources in
# ../shared/third_party/pulumi-language-hosts-v3.250.0 (or BYOC_LANGUAGE_HOSTS_SRC), copied to
# a build folder in the cache: their module proxy copies are not served here. The YAML host
# comes from the module proxy. A host that cannot be built is reported and left out; the tests
# that need it skip and say so (fail under BYOC_REQUIRE_INTEGRATION=1).
set -euo pipefail

pulumi_version=v3.250.0
yaml_version=v1.38.1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${BYOC_ACCESS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/byoc-access}
src=${BYOC_LANGUAGE_HOSTS_SRC:-$here/../shared/third_party/pulumi-language-hosts-$pulumi_version}
dir=$cache/language-hosts-$pulumi_version-yaml-$yaml_version
mkdir -p "$dir"

# build_pulumi_host NAME SUBDIR: builds one host of the pulumi repository from its sources.
build_pulumi_host() {
  local name=$1 sub=$2
  [ -x "$dir/$name" ] && return 0
  if [ ! -f "$src/$sub/go.mod" ]; then
    echo "$name: its sources are not at $src/$sub (set BYOC_LANGUAGE_HOSTS_SRC)" >&2
    return 1
  fi
  echo "building $name $pulumi_version (about 2 minutes on 2 cores; cached in $dir)" >&2
  local work
  work=$(mktemp -d "$cache/$name-build.XXXXXX")
  cp -R "$src/$sub/." "$work/"
  chmod -R u+w "$work"
  (
    cd "$work"
    # The published go.mod points pkg and sdk into the pulumi repository; outside it they
    # come from the module proxy at the host's own version.
    go mod edit -dropreplace github.com/pulumi/pulumi/pkg/v3 -dropreplace github.com/pulumi/pulumi/sdk/v3 \
      -require "github.com/pulumi/pulumi/pkg/v3@$pulumi_version" \
      -require "github.com/pulumi/pulumi/sdk/v3@$pulumi_version"
    GOFLAGS=-mod=mod go mod tidy
    go build -trimpath -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$pulumi_version" \
      -o "$work/$name.bin" .
  ) >&2 || { rm -rf "$work"; echo "$name: build failed" >&2; return 1; }
  mv "$work/$name.bin" "$dir/$name"
  rm -rf "$work"
}

build_yaml_host() {
  [ -x "$dir/pulumi-language-yaml" ] && return 0
  echo "building pulumi-language-yaml $yaml_version from the module proxy (cached in $dir)" >&2
  local work
  work=$(mktemp -d "$cache/pulumi-language-yaml-build.XXXXXX")
  GOBIN=$work go install -trimpath "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml@$yaml_version" >&2 ||
    { rm -rf "$work"; echo "pulumi-language-yaml: build failed" >&2; return 1; }
  mv "$work/pulumi-language-yaml" "$dir/pulumi-language-yaml"
  rm -rf "$work"
}

# Each host is independent: one that fails leaves the others usable.
build_pulumi_host pulumi-language-go go || true
build_pulumi_host pulumi-language-nodejs nodejs || true
build_yaml_host || true
echo "$dir"
