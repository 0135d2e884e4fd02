#!/bin/sh
# Shim kept for old guides: the `sessions` toolkit does the work.
exec sessions --hub "$(dirname "$0")" status "$@"
