#!/usr/bin/env bash
# Idempotent installer for a one-node OpenStack Swift (Debian 12's packages) with its S3 API
# (the s3api middleware, tempauth), used by the backup tests as real S3-compatible storage.
# Run as root. Waits for the dpkg lock instead of failing.
#
#   scripts/swift/install.sh          install the packages, write the configs and the rings
#   scripts/swift/install.sh --check  exit 0 if installed and configured, else 1
#
# Everything listens on 127.0.0.1; ports and paths are in lib.sh. The storage is a plain
# directory (mount_check off) under $KAAS_SWIFT_STATE_DIR, one device, one replica.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
PKGS="swift swift-proxy swift-account swift-container swift-object python3-swift"

missing_packages() {
  local p out=""
  for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q "ok installed" || out="$out $p"
  done
  echo "$out"
}
configured() { [ -f "$CONF_DIR/stamp" ] && [ "$(cat "$CONF_DIR/stamp")" = "$(config_hash)" ]; }

if [ "${1:-}" = --check ]; then
  [ -z "$(missing_packages)" ] && configured
  exit $?
fi
[ "$(id -u)" = 0 ] || {
  echo "scripts/swift/install.sh must run as root (apt-get, daemons)" >&2
  exit 1
}

missing="$(missing_packages)"
if [ -n "$missing" ]; then
  log "installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  ok=0
  for attempt in 1 2 3; do
    wait_for_dpkg
    dpkg --force-confold --configure -a || true
    # policy-rc.d: the packages' own services (systemd/init) must not start: start.sh runs ours
    own_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && own_policy=1
    fi
    # shellcheck disable=SC2086
    if apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confold $missing ||
      { apt-get update -qq && apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confold $missing; }; then
      ok=1
    fi
    [ $own_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
    [ $ok = 1 ] && break
    log "attempt $attempt failed; retrying"
    sleep 5
  done
  [ $ok = 1 ] || { log "could not install$missing"; exit 1; }
fi
configured && { log "already installed and configured"; exit 0; }
write_configs
log "installed (configs in $CONF_DIR, data in $DATA_DIR)"
