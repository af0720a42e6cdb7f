# Process management and the always-on infrastructure (MariaDB, memcached). Sourced by
# install.sh, start.sh and stop.sh; it sources services/<name>.sh for every enabled service.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mkdir -p "$PID_DIR" "$LOG_DIR" "$STATE_DIR/uwsgi"

# launch NAME CMD...: run CMD in the background in its own session; log and pid file.
launch() {
  local name=$1
  shift
  if pid_alive "$name"; then
    log "$name already running (pid $(cat "$PID_DIR/$name.pid"))"
    return 0
  fi
  setsid nohup "$@" >> "$LOG_DIR/$name.log" 2>&1 < /dev/null &
  record_pid "$name" $!
  log "started $name (pid $!)"
}

# uwsgi_launch NAME PORT WSGI_FILE [extra ini lines...]
# http11-socket, not http-socket: the latter does no keep-alive and clients that reuse
# connections (undici, python-requests) get ECONNRESET.
uwsgi_launch() {
  local name=$1 port=$2 wsgi=$3
  shift 3
  local ini="$STATE_DIR/uwsgi/$name.ini"
  {
    echo "[uwsgi]"
    if [ "${UWSGI_ROUTER:-}" = 1 ]; then
      # uwsgi's HTTP router holds the client connections (keep-alive included) and hands
      # each request to a free worker over a local socket: one-thread workers are not
      # pinned by idle keep-alive connections
      echo "plugins = python3,http"
      echo "http = $HOST_IP:$port"
      echo "http-keepalive = 1"
      echo "socket = $STATE_DIR/uwsgi/$name.sock"
    else
      echo "plugins = python3"
      echo "http11-socket = $HOST_IP:$port"
    fi
    echo "wsgi-file = $wsgi"
    echo "master = true"
    echo "processes = ${UWSGI_PROCESSES:-1}"
    echo "threads = ${UWSGI_THREADS:-4}"
    echo "enable-threads = true"
    echo "lazy-apps = true"
    echo "die-on-term = true"
    echo "need-app = true"
    echo "buffer-size = 65535"
    echo "worker-reload-mercy = 5"
    echo "disable-logging = ${UWSGI_DISABLE_REQ_LOG:-false}"
    local l
    for l in "$@"; do echo "$l"; done
  } > "$ini"
  launch "$name" uwsgi --ini "$ini"
}

# stop_one NAME: TERM by pid, KILL its process group after 15 s.
stop_one() {
  local name=$1 pidf="$PID_DIR/$1.pid" pid i
  [ -f "$pidf" ] || return 0
  pid=$(cat "$pidf")
  # a stale pid file (pid_alive): the pid may be another process's now; only the files go
  if pid_alive "$name"; then
    kill -TERM "$pid" 2> /dev/null || true
    for i in $(seq 1 75); do
      kill -0 "$pid" 2> /dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2> /dev/null; then
      log "$name (pid $pid) did not stop in 15s, sending KILL to its process group"
      kill -KILL -- "-$pid" 2> /dev/null || kill -KILL "$pid" 2> /dev/null || true
    fi
    log "stopped $name (pid $pid)"
  fi
  rm -f "$pidf" "$PID_DIR/$name.start"
}

# ---------------------------------------------------------------- infrastructure
INFRA_PACKAGES="mariadb-server memcached uwsgi-core uwsgi-plugin-python3 curl openssl"

start_mariadb() {
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
  launch mariadb /usr/sbin/mariadbd --user=mysql --bind-address=$HOST_IP --port=$PORT_MARIADB \
    --socket=$MYSQL_SOCKET --pid-file=/run/mysqld/mysqld.pid \
    --skip-name-resolve --max-connections=1000 --innodb-buffer-pool-size=256M \
    --innodb-flush-log-at-trx-commit=2 --sync-binlog=0 --skip-log-bin
  local i
  for i in $(seq 1 150); do
    mariadb-admin --socket=$MYSQL_SOCKET ping > /dev/null 2>&1 && return 0
    pid_alive mariadb || break
    sleep 0.2
  done
  echo "mariadb did not come up, see $LOG_DIR/mariadb.log" >&2
  return 1
}

# keystone's [cache] lives here: without it a token validation costs ~500 SQL round trips (~1 s).
start_memcached() {
  launch memcached /usr/bin/memcached -u memcache -l $HOST_IP -p $PORT_MEMCACHED -U 0 -m 128 -c 1024
  wait_port $PORT_MEMCACHED 20
}

# RabbitMQ (every service but keystone): node rabbit@localhost, listener, epmd and the Erlang
# distribution port on 127.0.0.1 (rabbitmq-env.conf and rabbitmq.conf from install.sh).
start_rabbitmq() {
  export RABBITMQ_NODENAME=rabbit@localhost RABBITMQ_NODE_IP_ADDRESS=$HOST_IP ERL_EPMD_ADDRESS=$HOST_IP
  mkdir -p /var/lib/rabbitmq /var/log/rabbitmq
  chown rabbitmq:rabbitmq /var/lib/rabbitmq /var/log/rabbitmq
  # setpriv execs (no su fork): the pid file holds rabbitmq-server itself, whose TERM trap stops
  # the broker cleanly
  launch rabbitmq setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups \
    env HOME=/var/lib/rabbitmq /usr/lib/rabbitmq/bin/rabbitmq-server
  local i
  for i in $(seq 1 300); do
    rabbitmqctl -q -n rabbit@localhost await_startup --timeout 2 > /dev/null 2>&1 && break
    pid_alive rabbitmq || break
    sleep 0.5
  done
  rabbitmqctl -q -n rabbit@localhost await_startup --timeout 5 > /dev/null || {
    echo "rabbitmq did not start, see $LOG_DIR/rabbitmq.log" >&2
    return 1
  }
  # epmd is spawned by the Erlang VM; its pid is recorded so that stop.sh ends it too
  local epid
  epid=$(ps -eo pid=,comm= | awk '$2=="epmd"{print $1; exit}')
  [ -z "$epid" ] || record_pid epmd "$epid"
}

# wait_rpc_queue QUEUE [seconds]: until an oslo.messaging server consumes QUEUE
wait_rpc_queue() {
  local q=$1 t=${2:-90} end
  end=$(($(date +%s) + t))
  while [ "$(date +%s)" -lt "$end" ]; do
    rabbitmqctl -q -n rabbit@localhost list_queues name consumers 2> /dev/null |
      awk -v q="$q" '$1==q && $2>0 {f=1} END {exit !f}' && return 0
    sleep 1
  done
  echo "timeout waiting for an RPC consumer on queue $q" >&2
  return 1
}

# ---------------------------------------------------------------- services
# Each services/<name>.sh defines, for its <name>:
#   <name>_packages        Debian packages to install (echo)
#   <name>_configure       write its config files (install.sh)
#   <name>_databases       "user:database ..." to create in MariaDB (echo)
#   <name>_setup           db sync, bootstrap, catalog (install.sh; infra is up, it may start itself)
#   launch_<name> / wait_<name>   start in the background / return when its API answers
#   <name>_procs           its process names (pid file names), in stop order (echo)
for _svc in $SERVICES; do
  [ -f "$OS_DIR/services/$_svc.sh" ] || {
    echo "unknown OpenStack service '$_svc' (no $OS_DIR/services/$_svc.sh)" >&2
    exit 2
  }
  # shellcheck disable=SC1090
  . "$OS_DIR/services/$_svc.sh"
done
unset _svc

INFRA_PROCS="memcached mariadb"
needs_rabbit && INFRA_PROCS="rabbitmq epmd $INFRA_PROCS"
# every process with a pid file, in stop order: services (last enabled first), then infra
all_procs() {
  local out="" s
  for s in $SERVICES; do out="$("${s}_procs") $out"; done
  echo "$out $INFRA_PROCS"
}
