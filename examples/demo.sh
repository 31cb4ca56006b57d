#!/usr/bin/env bash
# The five-minute tour, against the local emulator: validate -> plan -> apply -> plan -> drift.
set -euo pipefail
cd "$(dirname "$0")/.."
sfd() { .venv/bin/sfdeclare "$@"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Secrets are references in the configuration; the values come from the environment (your CI's secret store).
export BACKUP_STORE_1="DefaultEndpointsProtocol=https;AccountName=demo;AccountKey=demo-key-not-a-secret"
export SAMPLE_STORE="$BACKUP_STORE_1"
export SFDECLARE_ENDPOINT="emulator:$work/cluster.state"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "validate every example (offline)"
for example in examples/calc examples/overrides examples/fileshare examples/split examples/managed-identity; do
  sfd validate "$example"   # each example is its own configuration
done

step "a local cluster: the emulator, with the applications of examples/overrides"
sfd emulator init --state "$work/cluster.state" --topology examples/overrides/cluster/topology.yaml

step "plan: what would change, and why"
sfd plan examples/overrides/sfdeclare.yaml --out "$work/plan.json"

step "apply exactly the reviewed plan"
sfd apply --plan "$work/plan.json" examples/overrides/sfdeclare.yaml

step "plan again: nothing left to do"
sfd plan examples/overrides/sfdeclare.yaml --detailed-exitcode

step "explain one partition: which line decides its policy"
sfd explain examples/overrides/sfdeclare.yaml "partition[fabric:/SampleApp/SvcA/6a1f3c52-0b7e-4d2a-8c11-5e9b2f4d7a01]"

step "managed identity: no credentials in the policy; the cluster checks the storage before accepting it"
sfd emulator init --state "$work/identity.state" --topology examples/managed-identity/cluster/topology.yaml \
  --runtime 10.1
sfd apply examples/managed-identity/sfdeclare.yaml --endpoint "emulator:$work/identity.state" --auto-approve
sfd plan examples/managed-identity/sfdeclare.yaml --endpoint "emulator:$work/identity.state" --detailed-exitcode

if .venv/bin/python -c "import sfdeclare.commands.drift" 2>/dev/null; then
  step "drift: the cluster matches the declaration"
  sfd drift examples/overrides/sfdeclare.yaml
fi
