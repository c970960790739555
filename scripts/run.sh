#!/usr/bin/env bash
# Runs one of the operator commands in scripts/ (compiled), building first when the
# sources changed since the last build: `bash scripts/run.sh migrate [args...]`.
set -euo pipefail
cd "$(dirname "$0")/.."
name="$1"; shift
bash scripts/ensure-node-modules.sh
if [[ ! -f dist/.build-stamp ]] || [[ -n "$(find . -name '*.ts' -newer dist/.build-stamp -not -path './node_modules/*' -not -path './dist/*' -print -quit)" ]] \
  || [[ package-lock.json -nt dist/.build-stamp ]]; then
  bash scripts/build.sh >&2
fi
exec node "dist/scripts/$name.js" "$@"
