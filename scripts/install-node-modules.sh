#!/usr/bin/env bash
# Installs the npm packages of the TypeScript example (examples/typescript/package.json:
# @pulumi/pulumi and typescript) once, and prints the folder whose node_modules the example's
# test copies in. Cached under the project's cache, keyed by package.json, so a CI machine with
# the cache does not reinstall them on every run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${BYOC_ACCESS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/byoc-access}
pkg=$here/examples/typescript/package.json
key=$(sha256sum "$pkg" | cut -c1-16)
dir=$cache/node-modules-$key

if [ ! -d "$dir/node_modules/@pulumi/pulumi" ]; then
  command -v npm >/dev/null 2>&1 || { echo "npm is not installed: the TypeScript example's test will skip and say so" >&2; exit 1; }
  echo "installing the TypeScript example's npm packages (cached in $dir)" >&2
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/node-modules-build.XXXXXX")
  chmod 755 "$tmp"
  cp "$pkg" "$tmp/package.json"
  (cd "$tmp" && npm install --no-audit --no-fund --loglevel=error) >&2 || { rm -rf "$tmp"; exit 1; }
  rm -rf "$dir"
  mv "$tmp" "$dir"
fi
echo "$dir"
