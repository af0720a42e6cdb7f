#!/usr/bin/env bash
# Stops the servers start.sh started (by their pid files); the data stays.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
for s in $SERVERS; do
  if pid_alive "$s"; then kill "$(cat "$PID_DIR/$s.pid")" || true; fi
  rm -f "$PID_DIR/$s.pid"
done
