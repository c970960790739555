#!/usr/bin/env bash
# `npm run fuzz`: FUZZ_REQUESTS (default 10,000) invalid requests across every route
# of the API (test/fuzz/api-fuzz.test.ts, property-based with fast-check), against the
# same real services as the tests (a Temporal dev server, a fresh database and NATS
# prefix of its own). Prints the requests, statuses and 5xx count; fails on any 5xx,
# any 4xx that is not problem+json, or any change to the fuzzed account.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-modules.sh
bash scripts/ensure-temporal-cli.sh >/dev/null
bash scripts/ensure-services.sh
export FUZZ_REQUESTS="${FUZZ_REQUESTS:-10000}"
exec npx jest test/fuzz/api-fuzz.test.ts "$@"
