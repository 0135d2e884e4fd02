#!/bin/sh
# Shim kept for old guides: the `sessions` toolkit does the work.
# usage: save-progress.sh [auto|quick|milestone|full] [session-id]
SESSIONS_HUB="$(dirname "$0")" exec save-progress "$@"
