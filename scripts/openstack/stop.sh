#!/usr/bin/env bash
# Stop every process that has a pid file, by pid: the services (TERM, then KILL of their
# process group after 15 s), then RabbitMQ, memcached and MariaDB. Every service the scripts know,
# whatever KAAS_OPENSTACK_SERVICES says: what is not running has no pid file.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
export KAAS_OPENSTACK_SERVICES="glance placement neutron nova octavia designate cinder"
# shellcheck source=services.sh
. "$HERE/services.sh"
for p in $(all_procs); do stop_one "$p"; done
