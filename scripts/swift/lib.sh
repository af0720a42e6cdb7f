# shellcheck shell=bash
# Settings and helpers of scripts/swift/ (install.sh, start.sh, stop.sh). Sourced, never run.
#
#   KAAS_SWIFT_STATE_DIR  configs, rings, data, pids, logs (default /var/lib/kaas-swift)
#   KAAS_SWIFT_PORT       the proxy (S3 and Swift API), default 6280; the storage servers use
#                         the three ports after it
# One Swift per machine: fixed ports, like the project's keystone (scripts/openstack/).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
unset PYTHONHOME VIRTUAL_ENV PYTHONPATH
STATE_DIR="${KAAS_SWIFT_STATE_DIR:-/var/lib/kaas-swift}"
CONF_DIR="$STATE_DIR/etc"
DATA_DIR="$STATE_DIR/srv"
PID_DIR="$STATE_DIR/pids"
LOG_DIR="$STATE_DIR/logs"
PORT_PROXY="${KAAS_SWIFT_PORT:-6280}"
PORT_ACCOUNT=$((PORT_PROXY + 1))
PORT_CONTAINER=$((PORT_PROXY + 2))
PORT_OBJECT=$((PORT_PROXY + 3))
# tempauth's account:user and key are the S3 access key id and secret (test only, loopback only)
export S3_ACCESS_KEY="kaas:backup"
S3_SECRET_KEY="kaas-backup-secret"
export SERVERS="account container object proxy"

log() { echo "swift: $*" >&2; }

wait_for_dpkg() {
  local waited=0
  while fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock > /dev/null 2>&1; do
    [ $waited -eq 0 ] && log "waiting for the dpkg lock..."
    sleep 2
    waited=$((waited + 2))
    [ $waited -lt 900 ] || { log "dpkg lock still held after 15 min"; return 1; }
  done
}

config_hash() { sha256sum < "$(dirname "${BASH_SOURCE[0]}")/lib.sh" | cut -c1-16; }

pid_alive() { [ -f "$PID_DIR/$1.pid" ] && kill -0 "$(cat "$PID_DIR/$1.pid")" 2> /dev/null; }

write_configs() {
  mkdir -p "$CONF_DIR" "$DATA_DIR/d1" "$PID_DIR" "$LOG_DIR"
  local user=root
  cat > "$CONF_DIR/swift.conf" << CONF
[swift-hash]
swift_hash_path_suffix = kaas-test-$(hostname)
swift_hash_path_prefix = kaas
[storage-policy:0]
name = gold
default = yes
[swift-constraints]
max_file_size = 5368709122
CONF
  local s port
  for s in account container object; do
    case $s in account) port=$PORT_ACCOUNT ;; container) port=$PORT_CONTAINER ;; object) port=$PORT_OBJECT ;; esac
    cat > "$CONF_DIR/$s-server.conf" << CONF
[DEFAULT]
swift_dir = $CONF_DIR
devices = $DATA_DIR
mount_check = false
bind_ip = 127.0.0.1
bind_port = $port
workers = 1
user = $user
log_name = $s-server
log_facility = LOG_LOCAL0
[pipeline:main]
pipeline = healthcheck $s-server
[app:$s-server]
use = egg:swift#$s
[filter:healthcheck]
use = egg:swift#healthcheck
[$s-replicator]
[$s-auditor]
[$s-updater]
[object-expirer]
CONF
  done
  cat > "$CONF_DIR/proxy-server.conf" << CONF
[DEFAULT]
swift_dir = $CONF_DIR
bind_ip = 127.0.0.1
bind_port = $PORT_PROXY
workers = 1
user = $user
log_name = proxy-server
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
allow_account_management = true
[filter:s3api]
use = egg:swift#s3api
location = us-east-1
# S3's 5 MiB minimum part size, so clients see what AWS would tell them
min_segment_size = 5242880
[filter:tempauth]
use = egg:swift#tempauth
user_kaas_backup = $S3_SECRET_KEY .admin
user_kaas_other = other-secret .admin
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:cache]
use = egg:swift#memcache
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
CONF
  # rings: partition power 6, one replica, one device
  (
    cd "$CONF_DIR" || exit 1
    for s in account container object; do
      case $s in account) port=$PORT_ACCOUNT ;; container) port=$PORT_CONTAINER ;; object) port=$PORT_OBJECT ;; esac
      rm -f "$s.builder" "$s.ring.gz"
      swift-ring-builder "$s.builder" create 6 1 1 > /dev/null
      swift-ring-builder "$s.builder" add "r1z1-127.0.0.1:$port/d1" 100 > /dev/null
      swift-ring-builder "$s.builder" rebalance > /dev/null || true
    done
  )
  config_hash > "$CONF_DIR/stamp"
}
