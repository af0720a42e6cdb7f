#!/usr/bin/env bash
# Starts the one-node Swift of install.sh (account, container, object servers and the proxy with
# s3api) unless it already answers; idempotent. Prints nothing on stdout but the S3 endpoint.
# Run as root. Logs: $STATE_DIR/logs/<server>.log; pids: $STATE_DIR/pids/<server>.pid.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
"$HERE/install.sh" --check || "$HERE/install.sh" >&2
mkdir -p "$PID_DIR" "$LOG_DIR"

healthy() { curl -fsS -m 2 "http://127.0.0.1:$1/healthcheck" > /dev/null 2>&1; }

for s in $SERVERS; do
  case $s in account) port=$PORT_ACCOUNT ;; container) port=$PORT_CONTAINER ;; object) port=$PORT_OBJECT ;; proxy) port=$PORT_PROXY ;; esac
  if pid_alive "$s" && healthy "$port"; then continue; fi
  if healthy "$port"; then
    log "$s: something else answers on 127.0.0.1:$port; set KAAS_SWIFT_PORT to move ours"
    exit 1
  fi
  # 9>&-: a daemon must not inherit the caller's lock descriptor
  setsid /usr/bin/python3 -c "from swift.common.utils import parse_options; from swift.common.wsgi import run_wsgi; import sys; sys.exit(run_wsgi('$CONF_DIR/$s-server.conf', '$s-server'))" \
    > "$LOG_DIR/$s.log" 2>&1 < /dev/null 9>&- &
  echo $! > "$PID_DIR/$s.pid"
  for _ in $(seq 1 120); do
    healthy "$port" && break
    pid_alive "$s" || { log "$s-server exited; see $LOG_DIR/$s.log"; tail -20 "$LOG_DIR/$s.log" >&2; exit 1; }
    sleep 0.5
  done
  healthy "$port" || { log "$s-server does not answer on 127.0.0.1:$port after 60 s; see $LOG_DIR/$s.log"; exit 1; }
done
echo "http://127.0.0.1:$PORT_PROXY"
