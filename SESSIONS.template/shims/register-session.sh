#!/bin/sh
# Shim kept for old guides: the `sessions` toolkit does the work.
# usage: register-session.sh <id> [name] [role]
SESSIONS_HUB="$(dirname "$0")" exec register-session "$@"
