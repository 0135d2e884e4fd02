#!/bin/sh
# Shim kept for old guides: the `sessions` toolkit does the work.
# usage: create-milestone.sh "<title>" [HIGH|MEDIUM|LOW] [session-id]
SESSIONS_HUB="$(dirname "$0")" exec create-milestone "$@"
