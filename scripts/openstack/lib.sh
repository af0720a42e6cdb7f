# Settings and helpers for the project's OpenStack scripts (install.sh, start.sh, stop.sh).
# Sourced, never run. Everything listens on 127.0.0.1 only. Adapted from the OpenStack lab
# (Debian 12 packages, OpenStack Zed); see docs/auth.md for what the tests use.
#
# Environment:
#   KAAS_OPENSTACK_SERVICES   optional services besides keystone, space separated (none yet:
#                             each one is a file services/<name>.sh with the hooks described there)
#   KAAS_OPENSTACK_STATE_DIR  pid files, logs, generated secrets, clouds.yaml
#                             (default /var/lib/kaas-openstack; one keystone per machine: fixed ports)
#   KAAS_OPENSTACK_ADMIN_PASSWORD, KAAS_OPENSTACK_DB_PASSWORD
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
KEYSTONE_URL="http://$HOST_IP:$PORT_KEYSTONE"
MYSQL_SOCKET=/run/mysqld/mysqld.sock

# keystone is always on; the others are opt-in.
SERVICES="keystone ${KAAS_OPENSTACK_SERVICES:-}"
has_svc() { case " $SERVICES " in *" $1 "*) return 0 ;; esac; return 1; }

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
  # shellcheck disable=SC1090
  . "$f"
  ADMIN_PASSWORD="${KAAS_OPENSTACK_ADMIN_PASSWORD:-$ADMIN_PASSWORD}"
  DB_PASSWORD="${KAAS_OPENSTACK_DB_PASSWORD:-$DB_PASSWORD}"
}

db_url() { echo "mysql+pymysql://$1:$DB_PASSWORD@$HOST_IP/$2?charset=utf8"; }

pid_alive() { [ -f "$PID_DIR/$1.pid" ] && kill -0 "$(cat "$PID_DIR/$1.pid")" 2>/dev/null; }

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
