#!/usr/bin/env bash
# Shared use of the local keystone by concurrent test processes (test/support/keystone.ts).
#
#   lease.sh acquire PID [SERVICE...]
#                          install if needed, start if not answering, record a lease for PID,
#                          print the path of the clouds.yaml with the admin credentials.
#                          SERVICEs besides keystone (lib.sh): e.g. `neutron nova`
#   lease.sh release PID   drop PID's lease; when no live lease remains, stop the processes that
#                          an acquire started (never the ones that were already running)
#
# Leases of dead processes are dropped on every call, so a crashed test run is cleaned up by
# the next one. Progress of install/start goes to stderr.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ACTION=${1:-}
PID=${2:-}
[[ "$ACTION" =~ ^(acquire|release)$ && "$PID" =~ ^[0-9]+$ ]] || {
  echo "usage: $0 acquire PID [SERVICE...] | release PID" >&2
  exit 2
}
shift 2
if [ "$ACTION" = release ]; then
  # what any acquire started, whichever services it asked for
  export KAAS_OPENSTACK_SERVICES="glance placement neutron nova octavia designate cinder"
elif [ $# -gt 0 ]; then
  export KAAS_OPENSTACK_SERVICES="$*"
fi
# shellcheck source=services.sh
. "$HERE/services.sh"
LEASES="$STATE_DIR/leases"
STARTED="$STATE_DIR/started-by-tests"
mkdir -p "$LEASES"

prune() {
  local f p
  for f in "$LEASES"/*; do
    [ -e "$f" ] || continue
    p=$(basename "$f")
    # the start time (lib.sh proc_start_of): a reused pid does not keep a lease alive
    [ -n "$(proc_start_of "$p")" ] && [ "$(proc_start_of "$p")" = "$(cat "$f")" ] || rm -f "$f"
  done
}

exec 9> "$STATE_DIR/lease.lock"
flock -w 1800 9 || {
  echo "lease.sh: lock $STATE_DIR/lease.lock still held after 30 min" >&2
  exit 1
}
prune

if [ "$ACTION" = acquire ]; then
  before=""
  for p in $(all_procs); do pid_alive "$p" && before="$before $p"; done
  # 9>&-: the daemons they launch must not inherit the lock, or they would hold it forever.
  # --keep-running: what the install started (MariaDB, RabbitMQ, keystone...) stays up for
  # start.sh instead of being stopped and started again
  failed=0
  if ! "$HERE/install.sh" --check 9>&-; then "$HERE/install.sh" --keep-running 9>&- >&2 || failed=1; fi
  # keystone alone: any keystone answering on the port will do; other services: their processes
  # (start.sh starts only the missing ones and waits for all)
  ready=1
  curl -s -o /dev/null -m 10 "$KEYSTONE_URL/v3" || ready=0
  for p in $(all_procs); do
    case " keystone memcached mariadb " in *" $p "*) continue ;; esac
    pid_alive "$p" || ready=0
  done
  if [ $failed = 0 ] && [ $ready = 0 ]; then "$HERE/start.sh" 9>&- >&2 || failed=1; fi
  # what this acquire started (install or start), for the last release to stop; recorded even
  # when it failed, so that a failed acquire leaves nothing running that no release would stop
  for p in $(all_procs); do
    case " $before " in *" $p "*) continue ;; esac
    pid_alive "$p" && { grep -qx "$p" "$STARTED" 2> /dev/null || echo "$p" >> "$STARTED"; }
  done
  if [ $failed = 1 ]; then
    echo "lease.sh: could not install or start $SERVICES; logs in $LOG_DIR" >&2
    exit 1
  fi
  proc_start_of "$PID" > "$LEASES/$PID"
  echo "$STATE_DIR/clouds.yaml"
else
  rm -f "$LEASES/$PID"
  if [ -z "$(ls -A "$LEASES")" ] && [ -f "$STARTED" ]; then
    for p in $(all_procs); do grep -qx "$p" "$STARTED" && stop_one "$p" >&2; done
    rm -f "$STARTED"
  fi
fi
