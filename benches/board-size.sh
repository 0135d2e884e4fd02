#!/bin/sh
# Board size benchmark (issue 10 §4): time and peak memory (/usr/bin/time -v's "Maximum
# resident set size") of readers and `msg archive` on a 40 MB board of `---` lines and on
# eleven 50 MB posts (550 MB, blocks as the toolkit wrote them before bodies were quoted).
#   benches/board-size.sh BINARY LABEL [WORKDIR]
# Run it with the binary of this tree and with a baseline binary (e.g. main's, built from
# the parent commit) in the same session. Needs python3 and GNU time; ~1.2 GB of disk.
set -e
BIN=$1; LABEL=$2
D=${3:-$(mktemp -d)}/work-$LABEL
rm -rf "$D"; mkdir -p "$D"
"$BIN" init "$D/h" >/dev/null 2>&1
measure() { # name, command...
  name=$1; shift
  /usr/bin/time -f "$LABEL | $name | %e s | %M KB | exit %x" "$@" >/dev/null 2>"$D/err" || true
  tail -1 "$D/err"
}
python3 -c "open('$D/h/MESSAGES.md', 'a').write('---\n' * 10_000_000)"
measure "msg list, 40 MB of --- lines" "$BIN" --hub "$D/h" msg list --json
measure "inbox, 40 MB of --- lines" "$BIN" --hub "$D/h" --as s2 inbox --json
"$BIN" init "$D/g" >/dev/null 2>&1
python3 - "$D/g/MESSAGES.md" <<'PY'
import sys
body = ("lorem ipsum dolor sit amet, consectetur adipiscing elit 0123456789\n" * 760000)[:50_000_000].rstrip("\n")
with open(sys.argv[1], "a") as f:
    for i in range(11):
        f.write(f"\n---\n\n**ID:** m-2025010{i%9+1}T000000.000Z-big{i:03d}\n**From:** s1\n**To:** s2\n"
                f"**Time:** 2025-01-0{i%9+1}T00:00:00Z\n**Priority:** normal\n**Length:** {len(body)}\n\n{body}\n")
PY
measure "msg list, 11 x 50 MB posts" "$BIN" --hub "$D/g" msg list --json
measure "inbox, 11 x 50 MB posts" "$BIN" --hub "$D/g" --as s2 inbox --json
measure "msg archive, 11 x 50 MB posts" "$BIN" --hub "$D/g" msg archive --before 2025-06-01 --json
rm -rf "$D"
