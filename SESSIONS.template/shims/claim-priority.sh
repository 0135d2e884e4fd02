#!/bin/sh
# Shim kept for old guides: the `sessions` toolkit does the work.
# usage: claim-priority.sh <n> <session-id>
SESSIONS_HUB="$(dirname "$0")" exec claim-priority "$@"
