#!/usr/bin/env bash
# Start a local redis-server for the Redis store and scale-out worker tests.
#
# Installs Debian's redis-server if it is missing (apt-get update only then), and starts it on
# loopback with append-only persistence (appendfsync everysec) under .services/redis/ (git-ignored);
# RDB snapshots are off. Pid file: .services/redis.pid, log: .services/redis.log.
#
# Idempotent: a server that already answers on the port (started by this script) is reused.
# Prints `export ALLIANCE_MONITOR_TEST_REDIS_URL=redis://127.0.0.1:PORT/0` on stdout (progress goes
# to stderr), so `eval "$(bash scripts/start-redis.sh)"` works.
#
# Settings (environment): ALLIANCE_MONITOR_REDIS_PORT (default 16379),
# ALLIANCE_MONITOR_REDIS_WAIT (seconds to wait for PING, default 30).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVICES="$ROOT/.services"
DATA="$SERVICES/redis"
PIDFILE="$SERVICES/redis.pid"
LOG="$SERVICES/redis.log"
PORT="${ALLIANCE_MONITOR_REDIS_PORT:-16379}"
WAIT="${ALLIANCE_MONITOR_REDIS_WAIT:-30}"

say() { echo "[start-redis] $*" >&2; }
ping() { redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null | grep -q PONG; }
print_env() { echo "export ALLIANCE_MONITOR_TEST_REDIS_URL=redis://127.0.0.1:$PORT/0"; }

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    say "installing redis-server (Debian package)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq redis-server >&2
fi

mkdir -p "$DATA"

if [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && ping; then
    say "already running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT"
    print_env
    exit 0
fi
if ping; then
    say "something else answers on 127.0.0.1:$PORT; set ALLIANCE_MONITOR_REDIS_PORT to another port"
    exit 1
fi

say "starting redis-server on 127.0.0.1:$PORT (data: $DATA, log: $LOG)"
redis-server --port "$PORT" --bind 127.0.0.1 --protected-mode yes \
    --save "" --appendonly yes --appendfsync everysec \
    --dir "$DATA" --pidfile "$PIDFILE" --logfile "$LOG" --daemonize yes >&2

deadline=$(( $(date +%s) + WAIT ))
until ping; do
    if (( $(date +%s) > deadline )); then
        say "redis-server did not answer within ${WAIT}s; last log lines:"
        tail -n 20 "$LOG" >&2 || true
        exit 1
    fi
    sleep 0.2
done
say "ready (pid $(cat "$PIDFILE"))"
print_env
