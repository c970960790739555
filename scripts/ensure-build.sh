#!/usr/bin/env bash
# Builds dist/ (scripts/build.sh) when it is missing or older than the sources or the
# lockfile; otherwise leaves it alone. Used by the operator commands (scripts/run.sh)
# and by the benchmark's test, which runs the compiled system.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -f dist/.build-stamp ]] || [[ -n "$(find . -name '*.ts' -newer dist/.build-stamp -not -path './node_modules/*' -not -path './dist/*' -print -quit)" ]] \
  || [[ package-lock.json -nt dist/.build-stamp ]]; then
  bash scripts/build.sh >&2
fi
