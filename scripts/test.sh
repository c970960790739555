#!/usr/bin/env bash
# `npm test`: provisions what is missing, type-checks, lints, then runs Jest against
# a Temporal dev server it starts itself, a fresh PostgreSQL database and run-unique
# NATS streams (test/support/global-setup.ts). Extra arguments go to Jest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-modules.sh
bash scripts/ensure-temporal-cli.sh >/dev/null
bash scripts/ensure-services.sh
echo "[test] type check (tsc --noEmit)" >&2
npx tsc --noEmit -p tsconfig.json
echo "[test] lint (eslint)" >&2
npx eslint .
echo "[test] jest" >&2
exec npx jest "$@"
