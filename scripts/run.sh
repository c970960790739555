#!/usr/bin/env bash
# Runs one of the operator commands in scripts/ (compiled), building first when the
# sources changed since the last build: `bash scripts/run.sh migrate [args...]`.
set -euo pipefail
cd "$(dirname "$0")/.."
name="$1"; shift
bash scripts/ensure-node-modules.sh
bash scripts/ensure-build.sh
exec node "dist/scripts/$name.js" "$@"
