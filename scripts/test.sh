#!/usr/bin/env bash
# `npm test`: installs what the tests need (npm packages, then system packages through the
# project's own script), checks format, lint and types, then runs every test tier.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x node_modules/.bin/node ]; then
  npm ci --no-audit --no-fund
fi
export PATH="$PWD/node_modules/.bin:$PATH"
bash scripts/install-test-deps.sh
mkdir -p .test-output

# The local OpenStack (keystone + the services the provider tests use) takes ~10 min to install
# on a fresh machine. When it is missing or out of date, installing it in the background now,
# while format, lint, types and the first test files run, takes that off the critical path; the
# tests' own leases (lease.sh) wait for this one's install instead of starting another. This
# shell holds a lease until it exits, then releases it (the last release stops what the tests
# started). Not when it is installed already (the tests start it when they need it, as before),
# when the tests use another cloud (OS_CLOUD / OS_AUTH_URL), or can't install it (not root).
services="glance placement neutron nova ${KAAS_OS_TEST_SERVICES-octavia designate cinder}"
if [ "$(id -u)" = 0 ] && [ -z "${OS_CLOUD:-}${OS_AUTH_URL:-}" ] &&
  ! KAAS_OPENSTACK_SERVICES="$services" bash scripts/openstack/install.sh --check; then
  echo "== installing the local OpenStack in the background (.test-output/openstack-prewarm.log)"
  # shellcheck disable=SC2086 # a list of service names
  bash scripts/openstack/lease.sh acquire $$ $services \
    > .test-output/openstack-prewarm.log 2>&1 &
  prewarm=$!
  trap 'wait $prewarm || echo "(the OpenStack pre-install failed: see .test-output/openstack-prewarm.log; the tests that need it retry it)"; bash scripts/openstack/lease.sh release $$ >> .test-output/openstack-prewarm.log 2>&1 || true' EXIT
fi

echo "== format";     prettier --check . --log-level warn
echo "== lint";       eslint --max-warnings=0 .
# two commands, not `a && b`: under set -e a failure on the left of && would not stop the run
echo "== typecheck";  tsc -p tsconfig.json --noEmit
tsc -p apps/console/tsconfig.json --noEmit
echo "== console build (when apps/console/dist is missing or stale)"
node scripts/console-build.ts
echo "== tests"
node --test --test-concurrency=2 --test-reporter=spec --test-reporter-destination=stdout \
  "packages/**/*.test.ts" "apps/**/*.test.ts" "test/**/*.test.ts"
