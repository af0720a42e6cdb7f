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

echo "== format";     prettier --check . --log-level warn
echo "== lint";       eslint --max-warnings=0 .
# two commands, not `a && b`: under set -e a failure on the left of && would not stop the run
echo "== typecheck";  tsc -p tsconfig.json --noEmit
tsc -p apps/console/tsconfig.json --noEmit
echo "== console build (when apps/console/dist is missing or stale)"
node scripts/console-build.ts
echo "== tests"
mkdir -p .test-output
node --test --test-concurrency=2 --test-reporter=spec --test-reporter-destination=stdout \
  "packages/**/*.test.ts" "apps/**/*.test.ts" "test/**/*.test.ts"
