#!/bin/sh
# Shim kept for old guides: the `sessions` toolkit does the work.
# usage: milestone-status.sh 
SESSIONS_HUB="$(dirname "$0")" exec milestone-status "$@"
