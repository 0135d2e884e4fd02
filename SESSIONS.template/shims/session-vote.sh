#!/bin/sh
# Shim kept for old guides: the `sessions` toolkit does the work.
# usage: session-vote.sh <proposal> <agree|question|object> <voter> [comment]
SESSIONS_HUB="$(dirname "$0")" exec session-vote "$@"
