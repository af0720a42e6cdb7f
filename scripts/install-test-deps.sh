#!/usr/bin/env bash
# Installs the system packages the tests use, from Debian's archive. Idempotent; waits for the
# dpkg lock instead of failing when another process holds it. Run as root (CI and the dev machines
# are root); as another user it uses sudo when present.
set -euo pipefail

need=()
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || need+=(etcd-client)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v curl >/dev/null 2>&1 || need+=(curl)
# Prometheus: a real upstream UI behind the SSO proxy in its tests
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
# kubectl: the machines carry Google's package; a machine without one gets Debian's client.
command -v kubectl >/dev/null 2>&1 || need+=(kubernetes-client)
# cloud-init: `cloud-init schema` checks the OpenStack nodes' rendered #cloud-config user data
command -v cloud-init >/dev/null 2>&1 || need+=(cloud-init)
# shellcheck: lints the OpenStack nodes' rendered bootstrap script (nothing boots it in tests)
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
# chromium: the console's browser journeys and bench (playwright-core drives /usr/bin/chromium)
command -v chromium >/dev/null 2>&1 || need+=(chromium)

if [ ${#need[@]} -eq 0 ]; then
  echo "install-test-deps: everything present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "install-test-deps: need root to install: ${need[*]}" >&2
    exit 1
  fi
fi

# cloud-init is installed only for `cloud-init schema`: it must never configure this machine at boot
if [[ " ${need[*]} " == *" cloud-init "* ]]; then
  $SUDO mkdir -p /etc/cloud && $SUDO touch /etc/cloud/cloud-init.disabled
fi

wait_for_dpkg() {
  local waited=0
  while fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock >/dev/null 2>&1; do
    if [ $waited -eq 0 ]; then echo "install-test-deps: waiting for the dpkg lock..."; fi
    sleep 2
    waited=$((waited + 2))
    if [ $waited -ge 900 ]; then echo "install-test-deps: dpkg lock still held after 15 min" >&2; exit 1; fi
  done
}

echo "install-test-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
for attempt in 1 2 3; do
  wait_for_dpkg
  # a package run killed half-way ("dpkg was interrupted") blocks apt-get until it is finished
  $SUDO dpkg --force-confold --configure -a || true
  if $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"; then
    exit 0
  fi
  echo "install-test-deps: attempt $attempt failed; retrying" >&2
  sleep 5
done
exit 1
