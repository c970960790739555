#!/usr/bin/env bash
# `npm test`: provisions what is missing, type-checks, lints, checks import directions
# and copy-paste, then runs Jest against
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
echo "[test] dependency directions and cycles (dependency-cruiser, .dependency-cruiser.cjs)" >&2
npx depcruise --config .dependency-cruiser.cjs --output-type err .
echo "[test] copy-paste detection (jscpd, .jscpd.json: 6+ lines outside tests and migrations)" >&2
npx jscpd --config .jscpd.json .
echo "[test] jest" >&2
exec npx jest "$@"
