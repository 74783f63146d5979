#!/usr/bin/env bash
# The main job on the embedded defaults: onboard StreamNative into the member accounts of an
# organization, prove what was granted, find and repair drift, and offboard, with state in a
# local directory. Where no AWS account is configured it starts a local AWS emulator (moto)
# with an organization of member accounts and deploys into those. The Pulumi AWS provider is
# the real plugin where installed, else the project's test provider (the Terraform AWS
# provider served through Pulumi's dynamic bridge); the output says which. Any failed step
# stops the demo with a non-zero exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
fail() { printf '\n\033[1;31mdemo failed: %s\033[0m\n' "$*" >&2; exit 1; }
# expect CODE CMD...: runs CMD and fails the demo unless it exits with CODE.
expect() {
  local want=$1 got=0
  shift
  "$@" || got=$?
  [ "$got" = "$want" ] || fail "'$*' exited $got, expected $want"
}
work=.byoc-access/demo
rm -rf "$work"
mkdir -p "$work"
backend="file://$PWD/$work/state"
mkdir -p "$work/state"

say "Build rollout"
go build -o bin/rollout ./cmd/rollout

say "Pulumi CLI"
PULUMI_CLI=$(scripts/install-pulumi.sh)
export PULUMI_CLI
echo "$PULUMI_CLI ($("$PULUMI_CLI" version))"

say "AWS provider"
if real=$(command -v pulumi-resource-aws) || real=$(ls -d "${PULUMI_HOME:-$HOME/.pulumi}"/plugins/resource-aws-v6.*/pulumi-resource-aws 2>/dev/null | tail -n1) && [ -n "$real" ]; then
  echo "the real Pulumi AWS provider plugin: $real"
else
  dir=$(scripts/install-testprovider.sh) || fail "no pulumi-resource-aws installed and the test provider could not be built"
  export PATH="$dir:$PATH"
  echo "pulumi-resource-aws is not installed here: using the byoc-access test provider at $dir"
  echo "(the Terraform AWS provider 5.100.0, which pulumi-aws 6.83 bridges, served through Pulumi's dynamic bridge)"
fi

# The secrets passphrase lives in a file only this user can read, never on a command line.
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  if [ ! -s .byoc-access/passphrase ]; then
    (umask 077; head -c 24 /dev/urandom | base64 > .byoc-access/passphrase)
  fi
  export PULUMI_CONFIG_PASSPHRASE_FILE=$PWD/.byoc-access/passphrase
fi

if [ -z "${AWS_ACCESS_KEY_ID:-}${AWS_PROFILE:-}" ] && [ ! -e "$HOME/.aws/credentials" ] && [ ! -e "$HOME/.aws/config" ]; then
  say "No AWS account configured: starting a local organization in moto"
  command -v moto_server >/dev/null || fail "moto_server is not installed (pip install 'moto[server]')"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  MOTO_IAM_LOAD_MANAGED_POLICIES=true moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
  moto_pid=$!
  trap 'kill $moto_pid 2>/dev/null' EXIT
  export AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=demo-only AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_PAGER=
  # moto is plain HTTP: a CA bundle the machine sets is not needed.
  unset AWS_CA_BUNDLE
  for _ in $(seq 100); do curl -s "$AWS_ENDPOINT_URL/moto-api/" >/dev/null && break; sleep 0.2; done
  aws organizations create-organization --feature-set ALL >/dev/null
  root=$(aws organizations list-roots --query 'Roots[0].Id' --output text)
  workloads=$(aws organizations create-organizational-unit --parent-id "$root" --name Workloads --query OrganizationalUnit.Id --output text)
  prod=$(aws organizations create-organizational-unit --parent-id "$workloads" --name Prod --query OrganizationalUnit.Id --output text)
  for name in data-prod-1 data-prod-2 data-dev-1 retired; do
    id=$(aws organizations create-account --email "$name@example.com" --account-name "$name" --query CreateAccountStatus.AccountId --output text)
    dest=$workloads; case $name in *prod*) dest=$prod ;; esac
    aws organizations move-account --account-id "$id" --source-parent-id "$root" --destination-parent-id "$dest"
    [ "$name" = retired ] && aws organizations close-account --account-id "$id"
  done
  echo "organization with OUs Root/Workloads and Root/Workloads/Prod, 3 active member accounts and a suspended one at $AWS_ENDPOINT_URL"
fi

vendor=(--vendor streamnative --param external_id=o-abcde)
fleet=(--ou Root/Workloads --backend "$backend" --run-dir "$work/runs")

say "Vendor presets"
bin/rollout vendors list

say "Target accounts (Organizations discovery; the management and suspended accounts are skipped)"
bin/rollout accounts --ou Root/Workloads
first=$(bin/rollout accounts --ou Root/Workloads --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)["targets"][0]["id"])')

say "What StreamNative would be granted in $first (rendered by the real component under mocks)"
bin/rollout render "${vendor[@]}" --account-id "$first" > "$work/render-$first.json"
python3 - "$work/render-$first.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
for name, r in sorted(s["roles"].items()):
    print(f"role {r['path']}{name}: {len(r['attachedPolicies'])} policies, boundary {r['permissionsBoundary'].rsplit('/',1)[-1]}")
    for st in r["trustPolicy"]["Statement"]:
        print(f"  trusts {st['Principal']} for {st['Action']} {'with ' + json.dumps(st['Condition']) if 'Condition' in st else ''}")
for name, p in sorted(s["policies"].items()):
    print(f"policy {p['path']}{name}: {len(p['document']['Statement'])} statements")
PY
echo "full IAM state: $work/render-$first.json"

say "Verify before onboarding: every account lacks the access (exit 1 expected)"
expect 1 bin/rollout verify "${vendor[@]}" --ou Root/Workloads

say "Plan, then onboard with rollout up (preflight AssumeRole into every account, one stack per account)"
bin/rollout plan "${vendor[@]}" "${fleet[@]}"
bin/rollout up "${vendor[@]}" "${fleet[@]}" --parallel 4

say "Verify: each account's live IAM against the spec"
bin/rollout verify "${vendor[@]}" --ou Root/Workloads

say "Handoff for StreamNative"
bin/rollout handoff "${fleet[@]}"

say "Someone adds a principal to the management role's trust policy in $first, out of band"
eval "$(aws sts assume-role --role-arn "arn:aws:iam::$first:role/OrganizationAccountAccessRole" --role-session-name demo-drift \
  --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text |
  awk '{printf "export DRIFT_KEY=%s DRIFT_SECRET=%s DRIFT_TOKEN=%s\n", $1, $2, $3}')"
AWS_ACCESS_KEY_ID=$DRIFT_KEY AWS_SECRET_ACCESS_KEY=$DRIFT_SECRET AWS_SESSION_TOKEN=$DRIFT_TOKEN \
  aws iam update-assume-role-policy --role-name StreamNativeCloudManagementRole --policy-document \
  "$(AWS_ACCESS_KEY_ID=$DRIFT_KEY AWS_SECRET_ACCESS_KEY=$DRIFT_SECRET AWS_SESSION_TOKEN=$DRIFT_TOKEN \
    aws iam get-role --role-name StreamNativeCloudManagementRole --query Role.AssumeRolePolicyDocument --output json |
    python3 -c 'import json,sys; d=json.load(sys.stdin); s=d["Statement"][0]; p=s["Principal"]["AWS"]; s["Principal"]["AWS"]=(p if isinstance(p,list) else [p])+["arn:aws:iam::999988887777:root"]; print(json.dumps(d))')"
unset DRIFT_KEY DRIFT_SECRET DRIFT_TOKEN

say "Drift (refresh from AWS and preview) and verify both name it (exit 1 expected)"
expect 1 bin/rollout drift "${vendor[@]}" "${fleet[@]}"
expect 1 bin/rollout verify "${vendor[@]}" --ou Root/Workloads

say "Repair with up --refresh, then verify is clean again"
bin/rollout up --refresh "${vendor[@]}" "${fleet[@]}"
bin/rollout verify "${vendor[@]}" --ou Root/Workloads

say "Offboard: destroy every stack and the access it granted"
bin/rollout destroy "${fleet[@]}" --remove-stacks --yes
expect 1 bin/rollout verify "${vendor[@]}" --ou Root/Workloads
left=$(for id in $(bin/rollout accounts --ou Root/Workloads --output json | python3 -c 'import json,sys; print(" ".join(t["id"] for t in json.load(sys.stdin)["targets"]))'); do
  eval "$(aws sts assume-role --role-arn "arn:aws:iam::$id:role/OrganizationAccountAccessRole" --role-session-name demo-check \
    --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text |
    awk '{printf "K=%s S=%s T=%s\n", $1, $2, $3}')"
  AWS_ACCESS_KEY_ID=$K AWS_SECRET_ACCESS_KEY=$S AWS_SESSION_TOKEN=$T aws iam list-roles --path-prefix /StreamNative/ --query 'Roles[].RoleName' --output text
done)
[ -z "$left" ] || fail "StreamNative roles left after offboarding: $left"
echo "no StreamNative role is left in any account"

say "Done: onboarded, verified, handed off, drift found and repaired, offboarded"
