#!/usr/bin/env bash
# Installs node_modules from package-lock.json when they are missing or stale.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -d node_modules || ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "[deps] installing node modules (npm ci)" >&2
  npm ci --no-audit --no-fund >&2
fi
