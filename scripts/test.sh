#!/usr/bin/env bash
# Install everything, start the services the tests need, run lint, types and the whole suite.
# This is what CI runs (.ci/run) and what README's second command runs.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1
bash scripts/setup.sh dev
# Headless Chromium from Debian for the report and supervisor-view tests (no browser download).
bash scripts/install-browser.sh
export ALLIANCE_MONITOR_REQUIRE_BROWSER=1

services=()
cleanup() {
  for s in "${services[@]}"; do bash "scripts/stop-$s.sh" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

if [ -f scripts/start-llm-server.sh ]; then
  # Real OpenAI-compatible server (llama.cpp + a tiny Gemma 3 270M GGUF) for the LLM tests.
  # A server that fails to start stops the run here, instead of every LLM test failing later.
  services+=(llm-server)
  env_lines=$(bash scripts/start-llm-server.sh) || { echo "the LLM server did not start" >&2; exit 1; }
  eval "$env_lines"
fi
if [ -f scripts/start-redis.sh ]; then
  services+=(redis)
  env_lines=$(bash scripts/start-redis.sh) || { echo "redis-server did not start" >&2; exit 1; }
  eval "$env_lines"
fi

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy --strict"
.venv/bin/mypy
echo "== pytest (with branch coverage of alliance_monitor/ and adapters/)"
set +e
rm -f .coverage
.venv/bin/python -m pytest --cov --cov-report= "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: treating as failure" >&2
  exit 1
fi
# The figure, and the 95% floor of the core, pair, rules, durable and committer modules, held
# on a whole run (a run of some tests only, `tests/x.py`, `-k`, `-m`, reports what it reached).
partial=0
for a in "$@"; do
  case "$a" in tests*|*.py|*::*|-k|-m) partial=1 ;; esac
done
set +e
.venv/bin/python scripts/coverage_report.py
cov=$?
set -e
if [ "$rc" -eq 0 ] && [ "$partial" -eq 0 ]; then
  exit "$cov"
fi
exit "$rc"
