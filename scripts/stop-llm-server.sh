#!/usr/bin/env bash
# Stop the server started by scripts/start-llm-server.sh (by its pid file; nothing else).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PIDFILE="$ROOT/.services/llm-server.pid"
if [[ ! -f "$PIDFILE" ]]; then
    echo "[stop-llm-server] not running (no pid file)" >&2
    exit 0
fi
pid="$(cat "$PIDFILE")"
if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 20); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    echo "[stop-llm-server] stopped pid $pid" >&2
else
    echo "[stop-llm-server] pid $pid was not running" >&2
fi
rm -f "$PIDFILE"
