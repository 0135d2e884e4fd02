#!/bin/sh
# Shim kept for old guides: the one `sessions` binary does the work (drop-in session-vote).
# usage: session-vote.sh <proposal> <agree|question|object> <voter> [comment]
hub=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd) || exit 1
bin=$(command -v sessions 2>/dev/null) || bin='{{SESSIONS_BIN}}'
if [ ! -x "$bin" ]; then
    echo "session-vote.sh: 'sessions' is not on PATH, nor at '$bin' (where 'sessions init' ran from)." >&2
    echo "Build it (cargo build --release) and add target/release to PATH, or: cargo install --path <checkout>" >&2
    exit 127
fi
SESSIONS_HUB=$hub exec "$bin" dropin session-vote "$@"
