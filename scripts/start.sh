#!/usr/bin/env bash
# `npm start`: provisions what is missing (node modules, the Temporal CLI, the local
# PostgreSQL and NATS), builds, then hands over to the supervisor (scripts/start.ts),
# which runs the Temporal dev server, migrations, stream setup and every process.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-modules.sh
TEMPORAL_CLI="$(bash scripts/ensure-temporal-cli.sh | tail -n 1)"
export TEMPORAL_CLI
bash scripts/ensure-services.sh
echo "[start] building" >&2
bash scripts/build.sh >/dev/null
exec node dist/scripts/start.js "$@"
