#!/usr/bin/env bash
# The main job on the embedded defaults: onboard StreamNative into the member accounts of an
# organization, with state in a local directory. Where no AWS account is configured it starts a
# local AWS emulator (moto) with an organization of member accounts, and runs every step that
# can run without the Pulumi AWS provider plugin, saying plainly which steps need it.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
work=.byoc-access/demo
mkdir -p "$work"

say "Build rollout"
go build -o bin/rollout ./cmd/rollout || exit 1

say "Pulumi CLI"
PULUMI_CLI=$(scripts/install-pulumi.sh) || exit 1
export PULUMI_CLI
echo "$PULUMI_CLI ($("$PULUMI_CLI" version))"

# The secrets passphrase lives in a file only this user can read, never on a command line.
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  if [ ! -s .byoc-access/passphrase ]; then
    (umask 077; head -c 24 /dev/urandom | base64 > .byoc-access/passphrase)
  fi
  export PULUMI_CONFIG_PASSPHRASE_FILE=$PWD/.byoc-access/passphrase
fi

if [ -z "${AWS_ACCESS_KEY_ID:-}${AWS_PROFILE:-}" ] && [ ! -e "$HOME/.aws/credentials" ] && [ ! -e "$HOME/.aws/config" ]; then
  say "No AWS account configured: starting a local organization in moto"
  command -v moto_server >/dev/null || { echo "moto_server is not installed (pip install 'moto[server]')"; exit 1; }
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  MOTO_IAM_LOAD_MANAGED_POLICIES=true moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
  moto_pid=$!
  trap 'kill $moto_pid 2>/dev/null' EXIT
  export AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=demo-only AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_PAGER=
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

say "Vendor presets"
bin/rollout vendors list

say "Target accounts (Organizations discovery; the management and suspended accounts are skipped)"
bin/rollout accounts --ou Root/Workloads || exit 1
first=$(bin/rollout accounts --ou Root/Workloads --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)["targets"][0]["id"])')

say "What StreamNative would be granted in $first (rendered by the real component under mocks)"
bin/rollout render --vendor streamnative --account-id "$first" --param external_id=o-abcde > "$work/render-$first.json" || exit 1
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

say "Verify the live accounts against the spec (no Pulumi state needed; nothing is onboarded yet)"
bin/rollout verify --vendor streamnative --param external_id=o-abcde --ou Root/Workloads
echo "(exit $?: drift is expected before onboarding)"

say "Onboard with rollout up (preflight AssumeRole into every account, then one stack per account)"
if bin/rollout up --vendor streamnative --param external_id=o-abcde --ou Root/Workloads --parallel 4; then
  say "Handoff for StreamNative"
  bin/rollout handoff --ou Root/Workloads
  bin/rollout verify --vendor streamnative --param external_id=o-abcde --ou Root/Workloads
else
  cat <<'MSG'

rollout up stopped before touching any account because the Pulumi AWS provider plugin
(pulumi-resource-aws) is not installed here. Everything above ran for real: discovery,
validation, render through the component, and verify against the accounts' IAM. The steps
that create IAM roles and policies (plan, up, destroy) need the plugin:
    pulumi plugin install resource aws v6.83.0
The Automation API, engine and state path are exercised by scripts/test.sh with a
component-only program that needs no plugin.
MSG
fi
exit 0
