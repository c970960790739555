#!/usr/bin/env bash
# Checks that PostgreSQL (DATABASE_URL) and NATS with JetStream (NATS_URL) answer.
# When one is down, points at this machine, and is installed locally, starts it with
# the machine's own command; otherwise fails with a message that says what to do.
set -euo pipefail

DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/order_service}"
NATS_URL="${NATS_URL:-nats://127.0.0.1:4222}"

log() { echo "[services] $*" >&2; }

# host and port out of scheme://[user[:pass]@]host[:port][/path]
hostport() {
  local rest="${1#*://}"
  rest="${rest##*@}"
  rest="${rest%%/*}"
  rest="${rest%%\?*}"
  local host="${rest%%:*}" port=""
  [[ "$rest" == *:* ]] && port="${rest##*:}"
  echo "${host:-127.0.0.1} ${port:-$2}"
}

is_local() { [[ "$1" == "127.0.0.1" || "$1" == "localhost" || "$1" == "::1" ]]; }

tcp_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

wait_for() { # name host port seconds
  local i
  for ((i = 0; i < $4 * 4; i++)); do
    tcp_open "$2" "$3" && return 0
    sleep 0.25
  done
  return 1
}

pg_ready() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h "$1" -p "$2" -t 2
  else
    tcp_open "$1" "$2"
  fi
}

read -r PG_HOST PG_PORT <<<"$(hostport "$DATABASE_URL" 5432)"
if pg_ready "$PG_HOST" "$PG_PORT"; then
  log "PostgreSQL is up at $PG_HOST:$PG_PORT"
elif is_local "$PG_HOST" && command -v pg_ctlcluster >/dev/null 2>&1 && [[ -d /etc/postgresql ]]; then
  version="$(ls /etc/postgresql | sort -V | tail -n 1)"
  log "PostgreSQL is down; starting cluster $version/main"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 60); do pg_ready "$PG_HOST" "$PG_PORT" && break; sleep 0.5; done
  pg_ready "$PG_HOST" "$PG_PORT" || { log "PostgreSQL did not come up at $PG_HOST:$PG_PORT"; exit 1; }
  log "PostgreSQL started"
else
  log "PostgreSQL does not answer at $PG_HOST:$PG_PORT (DATABASE_URL) and is not installed here."
  log "Start one (e.g. 'docker compose up -d postgres' with this repo's docker-compose.yml) or set DATABASE_URL."
  exit 1
fi

read -r NATS_HOST NATS_PORT <<<"$(hostport "$NATS_URL" 4222)"
if tcp_open "$NATS_HOST" "$NATS_PORT"; then
  log "NATS is up at $NATS_HOST:$NATS_PORT"
elif is_local "$NATS_HOST" && [[ -x /usr/sbin/nats-server ]]; then
  log "NATS is down; starting nats-server with JetStream"
  mkdir -p /var/lib/nats-server
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p "$NATS_PORT" -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  wait_for nats "$NATS_HOST" "$NATS_PORT" 15 || { log "NATS did not come up at $NATS_HOST:$NATS_PORT"; exit 1; }
  log "NATS started"
else
  log "NATS does not answer at $NATS_HOST:$NATS_PORT (NATS_URL) and is not installed here."
  log "Start one with JetStream (e.g. 'docker compose up -d nats') or set NATS_URL."
  exit 1
fi

# JetStream must be enabled, not just NATS: ask the monitoring-free way, via the
# protocol's INFO line, which carries "jetstream":true when it is on.
info="$(timeout 3 bash -c "exec 3<>/dev/tcp/$NATS_HOST/$NATS_PORT; head -c 4096 <&3 | head -n 1" 2>/dev/null || true)"
if [[ "$info" == INFO* && "$info" != *'"jetstream":true'* ]]; then
  log "NATS at $NATS_HOST:$NATS_PORT runs without JetStream; restart it with -js"
  exit 1
fi
