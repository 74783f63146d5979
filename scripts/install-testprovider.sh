#!/usr/bin/env bash
# Makes the test AWS provider available and prints the folder that holds its
# pulumi-resource-aws, for tests and the demo to put first on PATH where the real Pulumi AWS
# plugin is not installed. It is built from tools/testprovider (its own module: the Terraform
# bridge and its dependencies never reach the project's go.mod) and cached, keyed by that
# module's sources and the pulumi-aws SDK version the program uses.
#
# What it serves is the Terraform AWS provider 5.100.0 binary (which pulumi-aws 6.83 bridges),
# found in a Terraform filesystem plugin mirror, or given as BYOC_TF_PROVIDER_AWS.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${BYOC_ACCESS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/byoc-access}
tf_version=5.100.0

find_tf() {
  if [ -n "${BYOC_TF_PROVIDER_AWS:-}" ]; then
    [ -x "$BYOC_TF_PROVIDER_AWS" ] && { echo "$BYOC_TF_PROVIDER_AWS"; return 0; }
    echo "BYOC_TF_PROVIDER_AWS=$BYOC_TF_PROVIDER_AWS is not an executable file" >&2
    return 1
  fi
  local rel="registry.terraform.io/hashicorp/aws/$tf_version/linux_amd64/terraform-provider-aws_v${tf_version}_x5"
  local root
  for root in /opt/tf-plugins "$HOME/.terraform.d/plugins" "$HOME/.local/share/terraform/plugins" \
    /usr/local/share/terraform/plugins /usr/share/terraform/plugins; do
    [ -x "$root/$rel" ] && { echo "$root/$rel"; return 0; }
  done
  echo "the Terraform AWS provider $tf_version binary was not found in a Terraform plugin mirror" \
    "(looked for */$rel); set BYOC_TF_PROVIDER_AWS to its path" >&2
  return 1
}

tf=$(find_tf)
aws_sdk=$(cd "$here" && go list -m -f '{{.Version}}' github.com/pulumi/pulumi-aws/sdk/v6)
key=$( (cd "$here/tools/testprovider" && cat go.mod go.sum ./*.go; echo "$aws_sdk") | sha256sum | cut -c1-16)
dir=$cache/testprovider-$key

if [ ! -x "$dir/pulumi-resource-aws" ] || [ ! -x "$dir/pulumi-terraform-bridge" ]; then
  echo "building the test AWS provider (pulumi-aws ${aws_sdk#v} names over the Terraform AWS provider" \
    "$tf_version; a few minutes the first time; cached in $dir)" >&2
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/testprovider-build.XXXXXX")
  chmod 755 "$tmp"
  (
    cd "$here/tools/testprovider"
    go build -trimpath -o "$tmp/pulumi-terraform-bridge" github.com/pulumi/pulumi-terraform-bridge/v3/dynamic
    go build -trimpath -ldflags "-X main.version=${aws_sdk#v}" -o "$tmp/pulumi-resource-aws" .
  ) >&2
  rm -rf "$dir"
  mv "$tmp" "$dir"
fi
# The bridge names the provider after the binary's file name, so it must be terraform-provider-aws.
ln -sfn "$tf" "$dir/terraform-provider-aws"
echo "$dir"
