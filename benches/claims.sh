#!/usr/bin/env bash
# Claims and milestones benchmark, as whole processes on the generated workload:
# one claim + release, `milestone status` and `ready` (with `cat` of the same files as the
# floor), and 64 processes racing for one key. Needs hyperfine.
#   benches/claims.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-$(mktemp -d)}
cargo build --release --quiet --bin sessions --example gen-hub --example claim-race
hub="$work/hub"
rm -rf "$hub"
target/release/examples/gen-hub "$hub" >/dev/null
bin="$PWD/target/release/sessions"
cd "$hub"
rel="$bin --hub $hub --as bench release bench-key"
hyperfine --style none --warmup 5 --runs 60 --export-json "$work/claims.json" \
  -n "sessions claim" --prepare "$rel || true" "$bin --hub $hub --as bench claim bench-key" \
  -n "sessions release" --prepare "$rel || true; $bin --hub $hub --as bench claim bench-key" "$rel" \
  -n "sessions --version (process floor)" --prepare true "$bin --version" \
  -n "sessions milestone status" --prepare true "$bin --hub $hub milestone status" \
  -n "sessions ready" --prepare true "$bin --hub $hub ready" \
  -n "cat (milestones, locks, CURRENT_STATE)" --prepare true \
  "cat MILESTONES/*.json PRIORITIES/*.lock CURRENT_STATE.md" \
  >/dev/null
python3 - "$work/claims.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"| {r['command']} | {r['median']*1000:.1f} ms | {r['mean']*1000:.1f} ± {r['stddev']*1000:.1f} ms | {r['min']*1000:.1f} ms |")
PY
cd - >/dev/null
target/release/examples/claim-race "$bin" "$hub" --racers 64 --rounds 30
target/release/examples/claim-race "$bin" "$hub" --racers 64 --rounds 30 --baseline
