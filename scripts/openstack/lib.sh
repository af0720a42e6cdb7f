# Settings and helpers for the project's OpenStack scripts (install.sh, start.sh, stop.sh).
# Sourced, never run. Everything listens on 127.0.0.1 only. Adapted from the OpenStack lab
# (Debian 12 packages, OpenStack Zed); see docs/auth.md for what the tests use.
#
# Environment:
#   KAAS_OPENSTACK_SERVICES   services besides keystone, space separated, any of
#   (or LAB_SERVICES)         glance placement neutron nova octavia designate cinder
#                             (nova needs glance, placement and neutron: they are added). Each is
#                             a file services/<name>.sh with the hooks described in services.sh.
#   KAAS_OPENSTACK_STATE_DIR  pid files, logs, generated secrets, clouds.yaml
#                             (default /var/lib/kaas-openstack; one keystone per machine: fixed ports)
#   KAAS_OPENSTACK_ADMIN_PASSWORD, KAAS_OPENSTACK_DB_PASSWORD, KAAS_OPENSTACK_DEMO_PASSWORD,
#   KAAS_OPENSTACK_SERVICE_PASSWORD, KAAS_OPENSTACK_RABBIT_PASSWORD
#                             fixed passwords; otherwise random ones are generated once and kept
#                             in $STATE_DIR/secrets.env (mode 600)

OS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STATE_DIR="${KAAS_OPENSTACK_STATE_DIR:-/var/lib/kaas-openstack}"
PID_DIR="$STATE_DIR/pids"
LOG_DIR="$STATE_DIR/logs"

# Debian's python and OpenStack commands, never a pyenv/venv one that may be first on PATH.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
unset PYTHONHOME VIRTUAL_ENV PYTHONPATH
PY=/usr/bin/python3

HOST_IP=127.0.0.1
REGION=RegionOne
PORT_KEYSTONE=5000
PORT_MARIADB=3306
PORT_MEMCACHED=11211
PORT_RABBIT=5672
PORT_GLANCE=9292
PORT_PLACEMENT=8778
PORT_NOVA=8774
PORT_NEUTRON=9696
PORT_OCTAVIA=9876
PORT_DESIGNATE=9001
PORT_DESIGNATE_MDNS=5354
PORT_CINDER=8776
KEYSTONE_URL="http://$HOST_IP:$PORT_KEYSTONE"
MYSQL_SOCKET=/run/mysqld/mysqld.sock
# [DEFAULT] host of every service: nova-compute's node and cinder-volume's backend host
SVC_HOST=kaashost
PYLIB="$OS_DIR/pylib"

# keystone is always on; the others are opt-in. Put in dependency (= start) order, with what
# they need added: nova boots from glance images, schedules through placement, plugs neutron ports.
KNOWN_SERVICES="keystone glance placement neutron nova octavia designate cinder"
normalize_services() {
  local want=" keystone $* " out="" s
  case "$want" in *" nova "*) want="$want glance placement neutron " ;; esac
  case "$want" in *" octavia "*) want="$want neutron " ;; esac
  for s in $want; do
    case " $KNOWN_SERVICES " in *" $s "*) ;; *)
      echo "unknown OpenStack service '$s' (known: $KNOWN_SERVICES)" >&2
      return 2
      ;;
    esac
  done
  for s in $KNOWN_SERVICES; do case "$want" in *" $s "*) out="$out $s" ;; esac; done
  echo "${out# }"
}
# shellcheck disable=SC2086
SERVICES="$(normalize_services ${KAAS_OPENSTACK_SERVICES:-${LAB_SERVICES:-}})" || exit 2
has_svc() { case " $SERVICES " in *" $1 "*) return 0 ;; esac; return 1; }
# RabbitMQ is infrastructure for every service but keystone
needs_rabbit() { [ "$SERVICES" != keystone ]; }

log() { echo "[$(date +%H:%M:%S)] $*"; }

# Generated once, reused by every later install (config files are rewritten from them).
load_secrets() {
  local f="$STATE_DIR/secrets.env"
  if [ ! -f "$f" ]; then
    mkdir -p "$STATE_DIR"
    (
      umask 077
      {
        echo "ADMIN_PASSWORD=$(openssl rand -hex 16)"
        echo "DB_PASSWORD=$(openssl rand -hex 16)"
      } > "$f.tmp"
    )
    mv "$f.tmp" "$f"
  fi
  # secrets added after a first (keystone only) install are appended; the old ones are kept
  local k
  for k in DEMO_PASSWORD SERVICE_PASSWORD RABBIT_PASSWORD; do
    grep -q "^$k=" "$f" || (umask 077 && echo "$k=$(openssl rand -hex 16)" >> "$f")
  done
  # shellcheck disable=SC1090
  . "$f"
  ADMIN_PASSWORD="${KAAS_OPENSTACK_ADMIN_PASSWORD:-$ADMIN_PASSWORD}"
  DB_PASSWORD="${KAAS_OPENSTACK_DB_PASSWORD:-$DB_PASSWORD}"
  DEMO_PASSWORD="${KAAS_OPENSTACK_DEMO_PASSWORD:-$DEMO_PASSWORD}"
  SERVICE_PASSWORD="${KAAS_OPENSTACK_SERVICE_PASSWORD:-$SERVICE_PASSWORD}"
  RABBIT_PASSWORD="${KAAS_OPENSTACK_RABBIT_PASSWORD:-$RABBIT_PASSWORD}"
  TRANSPORT_URL="rabbit://openstack:$RABBIT_PASSWORD@$HOST_IP:$PORT_RABBIT/"
}

# [keystone_authtoken] block for service user $1
authtoken_section() {
  cat << EOF
[keystone_authtoken]
www_authenticate_uri = $KEYSTONE_URL
auth_url = $KEYSTONE_URL
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $1
password = $SERVICE_PASSWORD
region_name = $REGION
service_token_roles_required = true
memcached_servers = $HOST_IP:$PORT_MEMCACHED
EOF
}

# keystoneauth password block [$1] for service user $2 ([placement], [neutron], [nova], ...)
ksa_section() {
  cat << EOF
[$1]
auth_url = $KEYSTONE_URL
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $2
password = $SERVICE_PASSWORD
region_name = $REGION
EOF
}

db_url() { echo "mysql+pymysql://$1:$DB_PASSWORD@$HOST_IP/$2?charset=utf8"; }

# A pid file outlives its process when the machine's processes are ended without stop.sh (a
# session or CI run that stops): the pid can then belong to an unrelated process, which must be
# neither taken for the service nor signalled. So each NAME.pid has a NAME.start beside it, the
# process's start time (field 22 of /proc/PID/stat), and a pid only counts when both agree.
proc_start_of() { awk '{print $22}' "/proc/$1/stat" 2> /dev/null || true; }
record_pid() {
  echo "$2" > "$PID_DIR/$1.pid"
  proc_start_of "$2" > "$PID_DIR/$1.start"
}
pid_alive() {
  local pid start
  [ -f "$PID_DIR/$1.pid" ] && [ -f "$PID_DIR/$1.start" ] || return 1
  pid=$(cat "$PID_DIR/$1.pid")
  start=$(proc_start_of "$pid")
  [ -n "$start" ] && [ "$start" = "$(cat "$PID_DIR/$1.start")" ]
}

# wait_http URL [seconds]: until URL answers at all (any HTTP status)
wait_http() {
  local url=$1 t=${2:-60} end
  end=$(($(date +%s) + t))
  while [ "$(date +%s)" -lt "$end" ]; do
    # a long -m: a probe that times out and is retried while a lazily loaded WSGI app
    # initialises sends concurrent first requests (oslo.policy races on those)
    if curl -s -o /dev/null -m 60 "$url"; then return 0; fi
    sleep 0.2
  done
  echo "timeout waiting for $url" >&2
  return 1
}

wait_port() {
  local port=$1 t=${2:-60} end
  end=$(($(date +%s) + t))
  while [ "$(date +%s)" -lt "$end" ]; do
    if (exec 3<>"/dev/tcp/$HOST_IP/$port") 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  echo "timeout waiting for port $port" >&2
  return 1
}
