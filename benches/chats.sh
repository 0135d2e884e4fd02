#!/bin/sh
# `chats list --json` of everything, cold (no cache) and warm, as whole processes, next to
# the floor measured in the same run: the first and last 4 KiB of every transcript read
# with head and tail (one process each over all files). BENCHMARKS.md, "Provider sessions".
#   cargo build --release && cargo build --release --example gen-chats
#   sh benches/chats.sh             # results in /tmp/bench-chats/*.json
set -e
T=${T:-$(pwd)/target/release}
B=${B:-/tmp/bench-chats}
rm -rf "$B" && mkdir -p "$B"
"$T/examples/gen-chats" "$B/home"                                    # 3,200 sessions, 60 turns
"$T/examples/gen-chats" "$B/home10k" --claude 6250 --codex 1562 --gemini 1563 --cursor 312 --opencode 313 --turns 10
du -sh "$B/home" "$B/home10k"
find "$B/home" -name '*.jsonl' -o -name 'store.db' -o -name 'opencode.db' > "$B/files"
wc -l < "$B/files"
export NO_COLOR=1
cold="rm -rf $B/cache && HOME=$B/home XDG_CACHE_HOME=$B/cache $T/sessions --json chats list --limit 0 > /dev/null"
warm="HOME=$B/home XDG_CACHE_HOME=$B/cache $T/sessions --json chats list --limit 0 > /dev/null"
floor="xargs head -q -c 4096 < $B/files > /dev/null && xargs tail -q -c 4096 < $B/files > /dev/null"
HOME=$B/home XDG_CACHE_HOME=$B/cache "$T/sessions" --json chats list --limit 0 | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["total"], "sessions,", d["warning_count"], "warnings")'
hyperfine --warmup 2 --runs ${RUNS:-10} --export-json "$B/list.json" "$floor" "$cold" "$warm"
# First page of 10,000 sessions, warm.
HOME=$B/home10k XDG_CACHE_HOME=$B/cache10k "$T/sessions" --json chats list > /dev/null
hyperfine -N --warmup 3 --runs ${RUNS:-20} --export-json "$B/page.json" \
  "env HOME=$B/home10k XDG_CACHE_HOME=$B/cache10k $T/sessions --json chats list" \
  "env HOME=$B/home10k XDG_CACHE_HOME=$B/cache10k $T/sessions --json chats list --limit 0"
/usr/bin/time -f "warm list of 3,200: %M KiB peak" sh -c "$warm"
python3 - "$B" <<'PY'
import json, sys
for f in ("list.json", "page.json"):
    for r in json.load(open(f"{sys.argv[1]}/{f}"))["results"]:
        print(f"{r['median']*1000:9.1f} ms median  {r['mean']*1000:9.1f} ms mean  {r['command'][:110]}")
PY
