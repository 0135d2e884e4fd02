#!/bin/sh
# `chats list --json` of everything, cold (no cache) and warm, as whole processes, next to
# the floor measured in the same run: the first and last 4 KiB of every transcript read
# with head and tail (one process each over all files). BENCHMARKS.md, "Provider sessions".
#   cargo build --release && cargo build --release --example gen-chats
#   sh benches/chats.sh             # results in target/tmp/bench-chats/*.json
#   OLD=path/to/older/sessions sh benches/chats.sh   # the same runs of another build beside
set -e
T=${T:-$(pwd)/target/release}
B=${B:-$(pwd)/target/tmp/bench-chats}
rm -rf "$B" && mkdir -p "$B"
"$T/examples/gen-chats" "$B/home"                                    # 3,200 sessions, 60 turns
"$T/examples/gen-chats" "$B/home10k" --claude 6250 --codex 1562 --gemini 1563 --cursor 312 --opencode 313 --turns 10
du -sh "$B/home" "$B/home10k"
# The corpus written out (the kernel's writeback of 380 MB otherwise runs during the
# first measurements), and its folders quiet for longer than the 3 s in which a fresh
# folder listing is not reused (as on a machine between listings).
sync
sleep 4
find "$B/home" -name '*.jsonl' -o -name 'store.db' -o -name 'opencode.db' > "$B/files"
wc -l < "$B/files"
export NO_COLOR=1
cd "$B"  # no hub above: the listing alone is measured
floor="xargs head -q -c 4096 < $B/files > /dev/null && xargs tail -q -c 4096 < $B/files > /dev/null"
# Cold runs write a cache each: measured apart from the warm ones, and their writeback
# finished (sync) before the warm ones start.
set -- "$floor"
warm=""
for bin in ${OLD:+"$OLD"} "$T/sessions"; do
  c=$B/cache-$(echo "$bin" | cksum | cut -d' ' -f1)
  HOME=$B/home XDG_CACHE_HOME=$c "$bin" --json chats list --limit 0 | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["total"], "sessions,", d["warning_count"], "warnings,", d["index"])'
  set -- "$@" "rm -rf $c && HOME=$B/home XDG_CACHE_HOME=$c $bin --json chats list --limit 0 > /dev/null"
  warm="$warm $bin"
done
hyperfine --warmup 2 --runs ${RUNS:-10} --export-json "$B/cold.json" "$@"
set --
for bin in $warm; do
  c=$B/cache-$(echo "$bin" | cksum | cut -d' ' -f1)
  HOME=$B/home XDG_CACHE_HOME=$c "$bin" --json chats list --limit 0 > /dev/null
  set -- "$@" "env HOME=$B/home XDG_CACHE_HOME=$c $bin --json chats list --limit 0"
done
sync
hyperfine -N --warmup 3 --runs ${RUNS:-10} --output=null --export-json "$B/warm.json" "$@"
# First page of 10,000 sessions, warm (and all of them), next to what stamping every
# file of that corpus costs on its own: find's walk with one stat per file (one thread).
set -- "find $B/home10k -type f -printf '%s %T@\\n'"
for bin in ${OLD:+"$OLD"} "$T/sessions"; do
  c=$B/cache10k-$(echo "$bin" | cksum | cut -d' ' -f1)
  HOME=$B/home10k XDG_CACHE_HOME=$c "$bin" --json chats list > /dev/null
  set -- "$@" "env HOME=$B/home10k XDG_CACHE_HOME=$c $bin --json chats list" \
              "env HOME=$B/home10k XDG_CACHE_HOME=$c $bin --json chats list --limit 0"
done
sync
hyperfine -N --warmup 3 --runs ${RUNS:-20} --output=null --export-json "$B/page.json" "$@"
c=$B/cache-$(echo "$T/sessions" | cksum | cut -d' ' -f1)
HOME=$B/home XDG_CACHE_HOME=$c /usr/bin/time -f "warm list of 3,200: %M KiB peak" "$T/sessions" --json chats list --limit 0 > /dev/null
python3 - "$B" <<'PY'
import json, sys
print(f"{'wall median':>12} {'CPU mean':>9}  command (CPU = user + system)")
for f in ("cold.json", "warm.json", "page.json"):
    for r in json.load(open(f"{sys.argv[1]}/{f}"))["results"]:
        cpu = (r["user"] + r["system"]) * 1000
        print(f"{r['median']*1000:9.1f} ms {cpu:6.1f} ms  {r['command'][:140]}")
PY
