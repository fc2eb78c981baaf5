#!/usr/bin/env bash
# Stop the redis-server started by scripts/start-redis.sh (by its pid file; nothing else).
# Its data under .services/redis/ is kept; delete that folder for a clean start.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PIDFILE="$ROOT/.services/redis.pid"
if [[ ! -f "$PIDFILE" ]]; then
    echo "[stop-redis] not running (no pid file)" >&2
    exit 0
fi
pid="$(cat "$PIDFILE")"
if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    echo "[stop-redis] stopped pid $pid" >&2
else
    echo "[stop-redis] pid $pid was not running" >&2
fi
rm -f "$PIDFILE"
