#!/usr/bin/env bash
# `sessions top` on the generated hub (examples/gen-hub.rs, 1,000 sessions): time from a
# file change on disk to the frame drawn for it (p50/p99, from top's hidden --bench-log
# probe), idle CPU over one minute, and memory. Baselines in the same run, on the same
# hub: one `sessions status` (one full read of the hub), and top started with the hidden
# --bench-reload-all (every change reads the whole hub again, as top did before it kept
# each part apart).
#   bash benches/top.sh            (needs tmux)
#   N=40 IDLE_SECS=60 GEN_ARGS="--sessions 50 --messages 100" bash benches/top.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q --bin sessions --example gen-hub
B=$PWD/target/release/sessions
W=$(mktemp -d)
SOCK=sessions-bench-$$
trap 'tmux -L "$SOCK" kill-server 2>/dev/null || true; rm -rf "$W"' EXIT
# shellcheck disable=SC2086
target/release/examples/gen-hub "$W/hub" ${GEN_ARGS:-} >/dev/null
export SESSIONS_HUB=$W/hub
N=${N:-60}

start=$(date +%s%N); "$B" status >/dev/null; end=$(date +%s%N)
echo "baseline: sessions status on this hub: $(( (end - start) / 1000000 )) ms"

# measure NAME [top flags...]: start top in tmux, write a new status file N times, 200 ms
# apart, and time each write to the frame drawn for it. Leaves top running (PID in $PID).
measure() {
  local name=$1; shift
  : >"$W/frames"
  tmux -L "$SOCK" kill-server 2>/dev/null || true
  tmux -L "$SOCK" new-session -d -x 200 -y 50 -s b \
    "env SESSIONS_HUB=$W/hub $B --as bench top --bench-log $W/frames $*"
  until tmux -L "$SOCK" capture-pane -p -t b | grep -q 'q quit'; do sleep 0.1; done
  PID=$(tmux -L "$SOCK" list-panes -t b -F '#{pane_pid}')
  sleep 1
  for i in $(seq 1 "$N"); do
    before=$(wc -l <"$W/frames")
    t0=$(date +%s%N)
    printf '# bench %s\n' "$i" >"$W/hub/bench-$name-$i-status.md"
    while [ "$(wc -l <"$W/frames")" -le "$before" ]; do sleep 0.002; done
    t1=$(tail -n1 "$W/frames" | cut -d' ' -f1)
    echo $(( (t1 - t0) / 1000000 ))
    sleep 0.2
  done | sort -n >"$W/lat"
  p() { awk -v q="$1" '{a[NR]=$1} END {i=int(NR*q+0.999); if (i<1) i=1; print a[i]}' "$W/lat"; }
  echo "$name: change -> frame (ms, n=$N): p50 $(p 0.5)  p99 $(p 0.99)  max $(tail -n1 "$W/lat")"
}

measure reload-all --bench-reload-all
measure top

ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
a=$(ticks); sleep "${IDLE_SECS:-60}"; b=$(ticks)
hz=$(getconf CLK_TCK)
echo "top: idle CPU over ${IDLE_SECS:-60} s: $(( (b - a) * 1000 / hz )) ms"
grep -E 'VmRSS|VmHWM' "/proc/$PID/status" | tr -s ' '
tmux -L "$SOCK" send-keys -t b q
