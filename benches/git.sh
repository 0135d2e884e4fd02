#!/bin/sh
# Git engine benchmark (BENCHMARKS.md, "Git as the distributed engine").
#  1. `sessions git sync` of one round as a whole process next to the plain-git round
#     `git add SESSIONS && git commit && git pull --no-rebase && git push` of the same
#     change, in the same run (both after `sessions git setup`, both merging a change
#     another clone pushed first).
#  2. The board merge driver on a 100,000-message board next to `cat` of its three inputs.
#   cargo build --release --bin sessions --example gen-board
#   sh benches/git.sh                 # RUNS=20 by default; prints medians in ms
set -e
T=${T:-$(pwd)/target/release}
B=${B:-/tmp/bench-git}
RUNS=${RUNS:-20}
rm -rf "$B" && mkdir -p "$B"
export GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@b GIT_COMMITTER_NAME=b GIT_COMMITTER_EMAIL=b@b NO_COLOR=1
S="$T/sessions"
ms() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)/1e6}'; }

# 1. One round: a message on each of two clones; clone 2 pushed first, clone 1 syncs.
git init -q --bare -b main "$B/origin.git"
git clone -q "$B/origin.git" "$B/c1" 2>/dev/null
(cd "$B/c1" && "$S" init SESSIONS >/dev/null && "$S" --hub SESSIONS git setup >/dev/null \
  && git add -A && git commit -qm hub && git push -q origin main)
git clone -q "$B/origin.git" "$B/c2" && (cd "$B/c2" && "$S" --hub SESSIONS git setup >/dev/null)
other_clone_pushes() {
  (cd "$B/c2" && "$S" --hub SESSIONS --as s2 msg send --to all "from c2 $1" >/dev/null \
    && "$S" --hub SESSIONS git sync >/dev/null)
  (cd "$B/c1" && "$S" --hub SESSIONS --as s1 msg send --to all "from c1 $1" >/dev/null)
}
: > "$B/sync.txt"; : > "$B/plain.txt"
for i in $(seq "$RUNS"); do
  other_clone_pushes "sync $i"
  t0=$(ms); (cd "$B/c1" && "$S" --hub SESSIONS git sync >/dev/null); t1=$(ms)
  echo $((t1 - t0)) >> "$B/sync.txt"
  other_clone_pushes "plain $i"
  t0=$(ms)
  (cd "$B/c1" && git add SESSIONS && git commit -qm round && git pull -q --no-rebase --no-edit origin main && git push -q origin main)
  t1=$(ms)
  echo $((t1 - t0)) >> "$B/plain.txt"
done
echo "git sync, one round:              $(median < "$B/sync.txt") ms median ($RUNS runs)"
echo "git commit+pull+push, same round: $(median < "$B/plain.txt") ms median ($RUNS runs)"

# 2. The board driver on a 100,000-message board: each side appended 10 messages.
H=$B/board/SESSIONS
"$S" init "$H" >/dev/null
"$T/examples/gen-board" "$H" 100000 >/dev/null
cp "$H/MESSAGES.md" "$B/O"
"$T/examples/gen-board" "$H" 10 >/dev/null; cp "$H/MESSAGES.md" "$B/A"
cp "$B/O" "$H/MESSAGES.md"
for i in 1 2 3 4 5 6 7 8 9 10; do "$S" --hub "$H" --as b msg send --to all "theirs $i" >/dev/null; done
cp "$H/MESSAGES.md" "$B/Bt"
ls -l "$B/O" | awk '{print "board: " $5 " bytes"}'
: > "$B/driver.txt"; : > "$B/cat.txt"
for i in $(seq "$RUNS"); do
  cp "$B/A" "$B/A.work"
  t0=$(ms); "$S" merge-driver board "$B/O" "$B/A.work" "$B/Bt" MESSAGES.md; t1=$(ms)
  [ "$(grep -c '^\*\*ID:\*\*' "$B/A.work")" = 100020 ] || { echo "driver lost a message" >&2; exit 1; }
  echo $((t1 - t0)) >> "$B/driver.txt"
  t0=$(ms); cat "$B/O" "$B/A" "$B/Bt" > "$B/cat.out"; t1=$(ms)
  echo $((t1 - t0)) >> "$B/cat.txt"
done
echo "merge-driver board (100k msgs):   $(median < "$B/driver.txt") ms median"
echo "cat of the three inputs:          $(median < "$B/cat.txt") ms median"
