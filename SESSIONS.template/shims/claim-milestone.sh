#!/bin/sh
# Shim kept for old guides: the `sessions` toolkit does the work.
# usage: claim-milestone.sh <milestone-id> <session-id>
SESSIONS_HUB="$(dirname "$0")" exec claim-milestone "$@"
