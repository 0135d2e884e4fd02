#!/bin/sh
# Shim kept for old guides: the `sessions` toolkit does the work.
# usage: session-request-collaboration.sh <target> "<request>" [normal|high|urgent] [from-session-id]
SESSIONS_HUB="$(dirname "$0")" exec session-request-collaboration "$@"
