#!/bin/sh
# Shim kept for old guides: the `sessions` toolkit does the work.
# usage: session-broadcast.sh "<message>" [normal|high|urgent] [from-session-id]
SESSIONS_HUB="$(dirname "$0")" exec session-broadcast "$@"
