#!/usr/bin/env bash
# The main job on the embedded defaults: a ferryd on a fresh temporary folder,
# seeded from etc/examples, listed, then stopped. Needs the build from setup.sh.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
bin="$repo/build/daemon"
work="$(mktemp -d /tmp/ferry-demo-XXXXXX)"
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

cat >"$work/ferryd.yaml" <<YAML
environment: {id: demo}
state_dir: state
socket: ferryd.sock
types: $repo/etc/types.yaml
YAML

echo "== ferryd --check"
"$bin/ferryd" --config "$work/ferryd.yaml" --check
"$bin/ferryd" --config "$work/ferryd.yaml" 2>"$work/ferryd.log" &
pid=$!
export FERRY_SOCKET="$work/ferryd.sock"
for _ in $(seq 100); do
  "$bin/ferryctl" status >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/ferryd.log"; exit 1; }
  sleep 0.1
done

echo "== ferryctl status"
"$bin/ferryctl" status
echo "== ferryctl object apply -f etc/examples/objects.yaml"
"$bin/ferryctl" object apply -f "$repo/etc/examples/objects.yaml"
echo "== ferryctl object list"
"$bin/ferryctl" object list
echo "== ferryctl object get datasource:/shared/warehouse (the password is shown only as set)"
"$bin/ferryctl" object get datasource:/shared/warehouse
echo "== stopping ferryd"
kill -TERM "$pid"
wait "$pid"
echo "== ferryd log"
cat "$work/ferryd.log"
