#!/usr/bin/env bash
# Create .venv (Python 3.11+) and install alliance-monitor into it. Idempotent.
# Usage: scripts/setup.sh [extras]   e.g. scripts/setup.sh dev,serve
# `dev` is the development dependency group (pyproject.toml, [dependency-groups]), not an extra.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/_progress.sh
source scripts/_progress.sh
extras="${1:-}"
py="${PYTHON:-}"
if [ -z "$py" ]; then
  for cand in python3.11 python3.12 python3.13 python3; do
    if command -v "$cand" >/dev/null 2>&1; then py="$cand"; break; fi
  done
fi
"$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "alliance-monitor needs Python >= 3.11")'
started=$SECONDS
[ -x .venv/bin/python ] || { echo "[setup] creating .venv with $py" >&2; "$py" -m venv .venv; }
groups=()
public=()
IFS=, read -r -a wanted <<< "$extras"
for e in "${wanted[@]}"; do
  if [ "$e" = dev ]; then groups+=(--group dev); elif [ -n "$e" ]; then public+=("$e"); fi
done
target="."
[ "${#public[@]}" -gt 0 ] && target=".[$(IFS=,; echo "${public[*]}")]"
echo "[setup] installing alliance-monitor${extras:+ ($extras)} into .venv (about a minute with a warm pip cache; log: .venv/setup.log)" >&2
# pip >= 25.1 reads PEP 735 dependency groups (--group).
run_with_progress setup .venv/setup-pip.log .venv/bin/python -m pip install --upgrade "pip>=25.1"
run_with_progress setup .venv/setup.log .venv/bin/python -m pip install --progress-bar off -e "$target" "${groups[@]}"
echo "[setup] done in $(( SECONDS - started )) s" >&2
