#!/bin/sh
# Shim kept for old guides: the `sessions` toolkit does the work.
# usage: update-milestone.sh <milestone-id> <step> <status> [notes] [session-id]
SESSIONS_HUB="$(dirname "$0")" exec update-milestone "$@"
