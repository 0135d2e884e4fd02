#!/bin/sh
# Shim kept for old guides: the `sessions` toolkit does the work.
# usage: session-propose-identity.sh <id> <name> <role> [specializations]
SESSIONS_HUB="$(dirname "$0")" exec session-propose-identity "$@"
