#!/usr/bin/env bash
# Compiles TypeScript to dist/ and bundles the workflow code with the Temporal SDK's
# bundler into dist/workflow-bundle.js (the worker loads it instead of bundling at start).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf dist
npx tsc -p tsconfig.build.json
node dist/scripts/bundle-workflows.js dist/workflow-bundle.js
touch dist/.build-stamp
