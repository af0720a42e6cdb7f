#!/usr/bin/env bash
# Installs the system packages `npm run bench` needs on top of the tests' (scripts/install-test-deps.sh),
# from Debian's archive. Idempotent; waits for the dpkg lock. Run as root (or with sudo).
set -euo pipefail

need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
# nginx: the reference reverse proxy the SSO proxy's throughput is compared with (bench/sso.ts).
# Its service is not started (policy-rc.d below); the bench runs its own nginx on free ports.
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)

if [ ${#need[@]} -eq 0 ]; then
  echo "install-bench-deps: everything present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "install-bench-deps: need root to install: ${need[*]}" >&2
    exit 1
  fi
fi

wait_for_dpkg() {
  local waited=0
  while fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock >/dev/null 2>&1; do
    if [ $waited -eq 0 ]; then echo "install-bench-deps: waiting for the dpkg lock..."; fi
    sleep 2
    waited=$((waited + 2))
    if [ $waited -ge 900 ]; then echo "install-bench-deps: dpkg lock still held after 15 min" >&2; exit 1; fi
  done
}

echo "install-bench-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
# no service starts at install: nothing of ours should take port 80
policy=/usr/sbin/policy-rc.d
made_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod +x "$policy"
  made_policy=1
fi
cleanup() { if [ -n "$made_policy" ]; then $SUDO rm -f "$policy"; fi; }
trap cleanup EXIT
for attempt in 1 2 3; do
  wait_for_dpkg
  $SUDO dpkg --force-confold --configure -a || true
  if $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"; then
    exit 0
  fi
  echo "install-bench-deps: attempt $attempt failed; retrying" >&2
  sleep 5
done
exit 1
