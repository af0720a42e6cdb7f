#!/usr/bin/env bash
# Stop every process that has a pid file, by pid: the services (TERM, then KILL of their
# process group after 15 s), then memcached and MariaDB.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=services.sh
. "$HERE/services.sh"
for p in $(all_procs); do stop_one "$p"; done
