#!/bin/sh
# Messages and inbox benchmark (BENCHMARKS.md, "Messages and inbox").
# Send and unread-inbox as whole processes on boards of 1,000, 10,000 and 100,000 messages.
#   cargo build --release && cargo build --release --example gen-board
#   sh benches/messages.sh            # results in /tmp/bench-msgs/{inbox,send}.json
set -e
T=${T:-$(pwd)/target/release}
B=${B:-/tmp/bench-msgs}
rm -rf "$B" && mkdir -p "$B"
for n in 1000 10000 100000; do
  H=$B/$n/SESSIONS
  "$T/sessions" init "$H" >/dev/null
  "$T/examples/gen-board" "$H" $n                                  # n messages over 30 days
  SESSIONS_HUB=$H "$T/sessions" --as r1 inbox --unread --mark-read >/dev/null  # cursor at the end
  "$T/examples/gen-board" "$H" 10 --to r1                          # then 10 unread for r1
  wc -c "$H/MESSAGES.md"
done
export NO_COLOR=1
hyperfine -N --warmup 5 --runs ${RUNS:-100} --export-json "$B/inbox.json" \
  "$T/sessions --version" \
  "$T/sessions --hub $B/1000/SESSIONS --as r1 inbox --unread" \
  "$T/sessions --hub $B/10000/SESSIONS --as r1 inbox --unread" \
  "$T/sessions --hub $B/100000/SESSIONS --as r1 inbox --unread" \
  "$T/sessions --hub $B/1000/SESSIONS --as r1 inbox" \
  "$T/sessions --hub $B/10000/SESSIONS --as r1 inbox" \
  "$T/sessions --hub $B/100000/SESSIONS --as r1 inbox"
# Baselines: what the original session-broadcast.sh did (append, no fsync), and the same
# append with one fdatasync (the floor for a durable append from a shell).
hyperfine -N --warmup 5 --runs ${RUNS:-100} --export-json "$B/send.json" \
  "sh -c 'printf \"\\n---\\n\\n**From:** w\\n**To:** r9\\n\\nbench\\n\" >> $B/1000/SESSIONS/MESSAGES.md'" \
  "dd if=/etc/hostname of=$B/1000/SESSIONS/MESSAGES.md oflag=append conv=notrunc,fdatasync status=none" \
  "$T/sessions --hub $B/1000/SESSIONS --as w msg send --to r9 'bench message'" \
  "$T/sessions --hub $B/10000/SESSIONS --as w msg send --to r9 'bench message'" \
  "$T/sessions --hub $B/100000/SESSIONS --as w msg send --to r9 'bench message'"
python3 - "$B" <<'PY'
import json, sys
for f in ("inbox.json", "send.json"):
    for r in json.load(open(f"{sys.argv[1]}/{f}"))["results"]:
        print(f"{r['median']*1000:8.2f} ms median  {r['mean']*1000:8.2f} ms mean  {r['command']}")
PY
