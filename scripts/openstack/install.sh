#!/usr/bin/env bash
# Idempotent installer for a real keystone (Debian 12's package, OpenStack Zed) on 127.0.0.1,
# with MariaDB and memcached, for the tests. Run as root.
#
#   scripts/openstack/install.sh                 install + configure + db sync + bootstrap
#   scripts/openstack/install.sh --check         exit 0 if installed and up to date, else 1
#   scripts/openstack/install.sh --force         redo every step even if up to date
#   scripts/openstack/install.sh --keep-running  leave what it started running
#   KAAS_OPENSTACK_SERVICES="neutron nova" install.sh   also these services (lib.sh; LAB_SERVICES
#                                                      works too). An install never removes a
#                                                      service: it installs the union of what is
#                                                      installed and what is asked for, and --check
#                                                      succeeds when what is asked for is installed.
#
# Writes configs into /etc/<service>/ (the packaged file is kept once as *.kaas-orig) and, in the
# state dir (lib.sh), secrets.env and clouds.yaml (cloud `kaas-local`: admin credentials; with any
# service besides keystone also `kaas-local-demo`: user demo, project demo, a member).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
STAMP_FILE="$STATE_DIR/installed"
REQUESTED="$SERVICES"
INSTALLED=""
[ -f "$STAMP_FILE" ] && INSTALLED="$(sed -n 2p "$STAMP_FILE")"
case " $* " in *" --check "*) ;; *)
  # shellcheck disable=SC2086
  KAAS_OPENSTACK_SERVICES="$(normalize_services $INSTALLED $REQUESTED)"
  export KAAS_OPENSTACK_SERVICES
  ;;
esac
# shellcheck source=services.sh
. "$HERE/services.sh"

MODE=install KEEP_RUNNING=0
for a in "$@"; do
  case "$a" in
    --check) MODE=check ;;
    --force) MODE=force ;;
    --keep-running) KEEP_RUNNING=1 ;;
    *)
      echo "usage: $0 [--check|--force] [--keep-running]" >&2
      exit 2
      ;;
  esac
done

PKGS="$INFRA_PACKAGES"
needs_rabbit && PKGS="$PKGS rabbitmq-server"
for s in $SERVICES; do PKGS="$PKGS $("${s}_packages")"; done
missing_packages() {
  local p out=""
  for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q "ok installed" || out="$out $p"
  done
  echo "$out"
}
# What the installed state was made from: these scripts, then the service list.
scripts_hash() {
  cat "$HERE"/lib.sh "$HERE"/services.sh "$HERE"/install.sh "$HERE"/services/*.sh "$HERE"/*.py \
    "$HERE"/pylib/*.py | sha256sum | cut -c1-16
}
# up to date: same scripts, and every service asked for is among the installed ones
up_to_date() {
  local s
  [ -z "$(missing_packages)" ] && [ -f "$STAMP_FILE" ] && [ -f "$STATE_DIR/clouds.yaml" ] &&
    [ "$(sed -n 1p "$STAMP_FILE")" = "$(scripts_hash)" ] || return 1
  for s in $SERVICES; do case " $INSTALLED " in *" $s "*) ;; *) return 1 ;; esac; done
}

if [ $MODE = check ]; then
  up_to_date
  exit $?
fi
if [ $MODE = install ] && up_to_date; then
  log "install.sh: already installed ($SERVICES), nothing to do (--force redoes it)"
  exit 0
fi
[ "$(id -u)" = 0 ] || {
  echo "install.sh must run as root (apt-get, /etc, daemons)" >&2
  exit 1
}

T0=$(date +%s)
STEP_T=$T0
step() {
  local now
  now=$(date +%s)
  log "---- [+$((now - STEP_T))s] $*"
  STEP_T=$now
}
export DEBIAN_FRONTEND=noninteractive
load_secrets

# No init system: package maintainer scripts must not try to start daemons.
CREATED_POLICY=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  CREATED_POLICY=1
fi
STARTED_HERE=""
on_exit() {
  local rc=$? p
  [ $CREATED_POLICY = 1 ] && rm -f /usr/sbin/policy-rc.d
  if [ $KEEP_RUNNING = 0 ] && [ -n "$STARTED_HERE" ]; then
    for p in $(all_procs); do
      case " $STARTED_HERE " in *" $p "*) stop_one "$p" ;; esac
    done
  fi
  [ $rc = 0 ] || log "install.sh FAILED (rc=$rc)"
}
trap on_exit EXIT

# ------------------------------------------------------------------ packages
wait_for_dpkg() {
  local waited=0
  while fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock > /dev/null 2>&1; do
    [ $waited = 0 ] && log "waiting for the dpkg/apt lock..."
    sleep 2
    waited=$((waited + 2))
    [ $waited -lt 900 ] || {
      echo "dpkg lock still held after 15 min" >&2
      return 1
    }
  done
}
# DPkg::Lock::Timeout covers the race between our check and apt taking the lock itself.
APT_OPTS=(-o DPkg::Lock::Timeout=900 -o Dpkg::Options::=--force-confold)
missing="$(missing_packages)"
if [ -n "$missing" ]; then
  step "apt-get update; apt-get install$missing"
  ok=0
  for attempt in 1 2 3; do
    wait_for_dpkg
    # a package run that was killed half-way ("dpkg was interrupted") blocks every apt-get until
    # it is finished; finishing it is a no-op when nothing is pending
    DEBIAN_FRONTEND=noninteractive dpkg --force-confold --configure -a || true
    # shellcheck disable=SC2086
    if apt-get "${APT_OPTS[@]}" update -q &&
      apt-get "${APT_OPTS[@]}" install -y -q --no-install-recommends $missing; then
      ok=1
      break
    fi
    log "apt-get attempt $attempt failed; retrying"
    sleep 5
  done
  [ $ok = 1 ] || {
    echo "apt-get install failed" >&2
    exit 1
  }
else
  step "packages already installed"
fi

# ------------------------------------------------------------------ configs
step "writing config files"
# wconf FILE (content on stdin); keeps the packaged original once
wconf() {
  local f=$1
  mkdir -p "$(dirname "$f")"
  [ -f "$f" ] && [ ! -f "$f.kaas-orig" ] && cp -p "$f" "$f.kaas-orig"
  cat > "$f"
}
cat > /etc/mysql/mariadb.conf.d/99-kaas-openstack.cnf << EOF
[mysqld]
bind-address = $HOST_IP
max_connections = 1000
skip-name-resolve
character-set-server = utf8mb4
collation-server = utf8mb4_general_ci
EOF
for s in $SERVICES; do "${s}_configure"; done

# ------------------------------------------------------------------ infrastructure
step "starting MariaDB and memcached"
pid_alive memcached || STARTED_HERE="$STARTED_HERE memcached"
start_memcached
pid_alive mariadb || STARTED_HERE="$STARTED_HERE mariadb"
start_mariadb

if needs_rabbit; then
  wconf /etc/rabbitmq/rabbitmq-env.conf << EOF
NODENAME=rabbit@localhost
NODE_IP_ADDRESS=$HOST_IP
NODE_PORT=$PORT_RABBIT
SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
EOF
  wconf /etc/rabbitmq/rabbitmq.conf << EOF
listeners.tcp.default = $HOST_IP:$PORT_RABBIT
loopback_users.guest = true
EOF
  step "starting RabbitMQ"
  pid_alive rabbitmq || STARTED_HERE="$STARTED_HERE rabbitmq epmd"
  start_rabbitmq
  rmq="rabbitmqctl -q -n rabbit@localhost"
  $rmq list_users | grep -q "^openstack\b" || $rmq add_user openstack "$RABBIT_PASSWORD"
  $rmq change_password openstack "$RABBIT_PASSWORD"
  $rmq set_permissions -p / openstack ".*" ".*" ".*"
fi

step "databases"
sql=""
for s in $SERVICES; do
  for e in $("${s}_databases"); do
    u=${e%%:*} d=${e##*:}
    sql="$sql CREATE DATABASE IF NOT EXISTS \`$d\` CHARACTER SET utf8mb4;"
    for h in 127.0.0.1 localhost; do
      sql="$sql CREATE USER IF NOT EXISTS '$u'@'$h' IDENTIFIED BY '$DB_PASSWORD';"
      sql="$sql ALTER USER '$u'@'$h' IDENTIFIED BY '$DB_PASSWORD';"
      sql="$sql GRANT ALL PRIVILEGES ON \`$d\`.* TO '$u'@'$h';"
    done
  done
done
mariadb --socket=$MYSQL_SOCKET -u root -e "$sql FLUSH PRIVILEGES;"

# ------------------------------------------------------------------ services
# A service installed before from these same scripts is set up already: a union install (a test
# that needs more services than the last one) only sets up the new ones. --force redoes all.
PREV_HASH=""
[ ! -f "$STAMP_FILE" ] || PREV_HASH="$(sed -n 1p "$STAMP_FILE")"
CUR_HASH="$(scripts_hash)"
set_up_already() {
  [ $MODE != force ] && [ "$PREV_HASH" = "$CUR_HASH" ] || return 1
  case " $INSTALLED " in *" $1 "*) return 0 ;; esac
  return 1
}
for s in $SERVICES; do
  if set_up_already "$s"; then
    step "$s: set up already (same scripts)"
  else
    step "$s: db sync and bootstrap"
    "${s}_setup"
  fi
  if [ "$s" = keystone ] && needs_rabbit; then
    step "keystone: projects, users, roles and the catalog"
    pid_alive keystone || STARTED_HERE="$STARTED_HERE keystone"
    launch_keystone
    wait_keystone
    KEYSTONE_URL=$KEYSTONE_URL ADMIN_PASSWORD=$ADMIN_PASSWORD DEMO_PASSWORD=$DEMO_PASSWORD \
      SERVICE_PASSWORD=$SERVICE_PASSWORD REGION=$REGION SERVICES="$SERVICES" $PY "$HERE/keystone_catalog.py"
  fi
done

(
  umask 077
  cat > "$STATE_DIR/clouds.yaml.tmp" << EOF
# Written by scripts/openstack/install.sh: the admin of the local test keystone.
clouds:
  kaas-local:
    auth:
      auth_url: $KEYSTONE_URL/v3
      username: admin
      password: $ADMIN_PASSWORD
      user_domain_name: Default
      project_name: admin
      project_domain_name: Default
    region_name: $REGION
    interface: public
    identity_api_version: 3
EOF
  if needs_rabbit; then cat >> "$STATE_DIR/clouds.yaml.tmp"; fi << EOF
  kaas-local-demo:
    auth:
      auth_url: $KEYSTONE_URL/v3
      username: demo
      password: $DEMO_PASSWORD
      user_domain_name: Default
      project_name: demo
      project_domain_name: Default
    region_name: $REGION
    interface: public
    identity_api_version: 3
EOF
)
mv "$STATE_DIR/clouds.yaml.tmp" "$STATE_DIR/clouds.yaml"
{
  scripts_hash
  echo "$SERVICES"
} > "$STAMP_FILE"
step "done"
log "install.sh finished in $(($(date +%s) - T0))s; credentials in $STATE_DIR/clouds.yaml"
