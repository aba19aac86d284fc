#!/usr/bin/env bash
# The main job on the embedded defaults: two environments, `test` and `prod`, each
# with its own ferryd, catalog, keys and configuration, in a fresh temporary folder.
# test is seeded from etc/examples and exports a full package into the folder prod
# watches; prod verifies and deploys it on its own, with its own secrets file, and
# writes a report beside the package. Needs the build from scripts/setup.sh.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
bin="$repo/build/daemon"
work="$(mktemp -d /tmp/ferry-demo-XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
ctl() { local env=$1; shift; "$bin/ferryctl" --socket "$work/$env/ferryd.sock" "$@"; }

start() {  # start ENV: runs ferryd and waits until its socket answers
  local env=$1
  "$bin/ferryd" --config "$work/$env/ferryd.yaml" 2>"$work/$env/ferryd.log" &
  pids+=($!)
  for _ in $(seq 100); do
    ctl "$env" status >/dev/null 2>&1 && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || { cat "$work/$env/ferryd.log"; exit 1; }
    sleep 0.1
  done
  echo "ferryd ($env) did not come up"; cat "$work/$env/ferryd.log"; exit 1
}

mkdir -p "$work/test/keys" "$work/prod" "$work/handoff/prod-inbox"
(cd "$work/test/keys" && "$bin/ferryctl" keygen test >/dev/null)

cat >"$work/test/ferryd.yaml" <<YAML
environment: {id: test, engine: single}
state_dir: state
jobs_dir: jobs.d
socket: ferryd.sock
types: $repo/etc/types.yaml
signing: {key: keys/test.key}
YAML
cat >"$work/prod/ferryd.yaml" <<YAML
environment: {id: prod, engine: single}
state_dir: state
jobs_dir: jobs.d
socket: ferryd.sock
types: $repo/etc/types.yaml
signing: {trusted: [$work/test/keys/test.pub]}
secrets: secrets.yaml
watch:
  - {dir: $work/handoff/prod-inbox, settle: 1s}
YAML
cat >"$work/prod/secrets.yaml" <<YAML
secrets:
  - {address: "datasource:/shared/warehouse", pointer: /password, value: prod-only-password}
YAML

step "ferryd --check (test and prod)"
"$bin/ferryd" --check --config "$work/test/ferryd.yaml"
"$bin/ferryd" --check --config "$work/prod/ferryd.yaml"
start test
start prod

step "test: ferryctl object apply -f etc/examples/objects.yaml"
ctl test object apply -f "$repo/etc/examples/objects.yaml"

step "test: ferryctl export --mode full --to handoff/prod-inbox --wait"
ctl test export --mode full --name demo-full --description "examples, full" --to "$work/handoff/prod-inbox" --wait

step "prod: waiting for the report in handoff/prod-inbox/processed/"
report="$work/handoff/prod-inbox/processed/demo-full.report.json"
failed="$work/handoff/prod-inbox/failed/demo-full.report.json"
for _ in $(seq 300); do
  [[ -f "$report" || -f "$failed" ]] && break
  sleep 0.1
done
if [[ ! -f "$report" ]]; then
  echo "prod did not deploy the package"; cat "$failed" 2>/dev/null || true; cat "$work/prod/ferryd.log"; exit 1
fi

step "prod: ferryctl object list"
ctl prod object list
step "prod: ferryctl object get datasource:/shared/warehouse (password from prod's own secrets file)"
ctl prod object get datasource:/shared/warehouse
step "prod: the report beside the package"
cat "$report"; echo
step "prod: ferryctl import list"
ctl prod import list

step "stopping both daemons"
for p in "${pids[@]}"; do kill -TERM "$p"; wait "$p"; done
pids=()
echo "done: test handed a package to prod through a folder, nobody typing on prod."
