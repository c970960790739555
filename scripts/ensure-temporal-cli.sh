#!/usr/bin/env bash
# Makes the Temporal CLI (which embeds `temporal server start-dev` and the Web UI)
# available and prints its absolute path as the last line on stdout.
#
# Order of preference:
#   1. $TEMPORAL_CLI, when it names an executable;
#   2. `temporal` on PATH;
#   3. the cached build in $TEMPORAL_CLI_CACHE_DIR (default ~/.cache/order-service),
#      outside the repository, so every clone on this machine reuses it;
#   4. otherwise build it from its Go module with CGO off (takes minutes, once).
# Nothing here downloads a server binary. Idempotent; safe to run concurrently.
set -euo pipefail

VERSION="v1.5.1" # later tags carry a `replace` directive that `go install` refuses
CACHE_ROOT="${TEMPORAL_CLI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/order-service}"
BIN_DIR="$CACHE_ROOT/temporal-cli-$VERSION"
BIN="$BIN_DIR/temporal"

log() { echo "[temporal-cli] $*" >&2; }

if [[ -n "${TEMPORAL_CLI:-}" ]]; then
  if [[ -x "$TEMPORAL_CLI" ]]; then
    echo "$TEMPORAL_CLI"
    exit 0
  fi
  log "TEMPORAL_CLI=$TEMPORAL_CLI is not an executable file; looking elsewhere"
fi

if on_path="$(command -v temporal 2>/dev/null)"; then
  echo "$on_path"
  exit 0
fi

if [[ -x "$BIN" ]]; then
  echo "$BIN"
  exit 0
fi

GO="$(command -v go 2>/dev/null || true)"
[[ -z "$GO" && -x /usr/local/go/bin/go ]] && GO=/usr/local/go/bin/go
if [[ -z "$GO" ]]; then
  cat >&2 <<MSG
[temporal-cli] The Temporal CLI is needed and could not be found or built.
  - Install it (https://docs.temporal.io/cli) and put \`temporal\` on PATH, or
  - set TEMPORAL_CLI=/path/to/temporal, or
  - install Go >= 1.23 so this script can build it:
      CGO_ENABLED=0 GOBIN=$BIN_DIR go install github.com/temporalio/cli/cmd/temporal@$VERSION
MSG
  exit 1
fi

mkdir -p "$BIN_DIR"
exec 9>"$BIN_DIR.lock"
if ! flock -n 9; then
  log "another process is building the CLI; waiting for it"
  flock 9
fi
if [[ -x "$BIN" ]]; then # built by the process we waited for
  echo "$BIN"
  exit 0
fi

log "building the Temporal CLI $VERSION with $("$GO" version | cut -d' ' -f3) (one time, several minutes)"
tmp_bin="$(mktemp -d "$BIN_DIR.build.XXXXXX")"
build_log="$tmp_bin.log"
start=$(date +%s)
CGO_ENABLED=0 GOBIN="$tmp_bin" GOFLAGS="${GOFLAGS:-} -mod=mod" \
  "$GO" install "github.com/temporalio/cli/cmd/temporal@$VERSION" >"$build_log" 2>&1 &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
  sleep 15
  if kill -0 "$pid" 2>/dev/null; then
    log "still building... $(($(date +%s) - start))s ($(grep -c '^go: downloading' "$build_log" || true) modules fetched)"
  fi
done
if ! wait "$pid"; then
  log "go install failed; its output follows"
  tail -n 40 "$build_log" >&2
  rm -rf "$tmp_bin" "$build_log"
  exit 1
fi
mv "$tmp_bin/temporal" "$BIN"
rm -rf "$tmp_bin" "$build_log"
log "built $BIN in $(($(date +%s) - start))s"
echo "$BIN"
