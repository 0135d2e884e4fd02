#!/usr/bin/env bash
# Foundation benchmark: `sessions status` and `sessions sync` on the generated workload,
# as whole processes, beside `cat` of the same files (the floor). Needs hyperfine.
#   benches/foundation.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-$(mktemp -d)}
cargo build --release --quiet --bin sessions --example gen-hub
hub="$work/hub"
rm -rf "$hub"
target/release/examples/gen-hub "$hub" >/dev/null
bin="$PWD/target/release/sessions"
cd "$hub"
files="REGISTRY.json HEARTBEATS/*.json PRIORITIES/*.lock MILESTONES/*.json CURRENT_STATE.md"
hyperfine --style none --warmup 5 --runs 60 --export-json "$work/foundation.json" \
  -n "sessions status" "$bin --hub $hub status" \
  -n "sessions sync" "$bin --hub $hub sync" \
  -n "cat (status files)" "cat $files" \
  -n "cat (sync files)" "cat REGISTRY.json HEARTBEATS/*.json" >/dev/null
python3 - "$work/foundation.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"| {r['command']} | {r['median']*1000:.1f} ms | {r['mean']*1000:.1f} ± {r['stddev']*1000:.1f} ms | {r['min']*1000:.1f} ms |")
PY
for cmd in status sync; do
  rss=$( { /usr/bin/time -f "%M" "$bin" --hub "$hub" $cmd >/dev/null; } 2>&1 )
  echo "peak RSS of sessions $cmd: $rss KiB"
done
