#!/usr/bin/env bash
# Start MariaDB, memcached, keystone (and any KAAS_OPENSTACK_SERVICES, with RabbitMQ) in the
# background, bound to 127.0.0.1. Pid files in $STATE_DIR/pids, logs in $STATE_DIR/logs (lib.sh). Returns when
# every API answers and every RPC server consumes its queue. Already running processes are left
# alone. Run install.sh first.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=services.sh
. "$HERE/services.sh"
[ "$(id -u)" = 0 ] || { echo "start.sh must run as root (mariadbd --user, memcached -u)" >&2; exit 1; }
"$HERE/install.sh" --check || { echo "not installed (or out of date): run $HERE/install.sh" >&2; exit 1; }
now() { date +%s.%N; }
since() { printf '%.1f' "$(echo "$(now) - $1" | bc)"; }

T0=$(now)
s=$(now)
start_mariadb
start_memcached
if needs_rabbit; then start_rabbitmq; fi
log "infra up in $(since "$s")s"
# one service at a time: with 2 cores, parallel starts are slower (CPU-bound Python imports)
for svc in $SERVICES; do
  s=$(now)
  "launch_$svc"
  "wait_$svc" || { log "$svc did not become ready; see $LOG_DIR/$svc.log"; exit 1; }
  log "$svc ready in $(since "$s")s"
done
log "all started in $(since "$T0")s; logs in $LOG_DIR"
