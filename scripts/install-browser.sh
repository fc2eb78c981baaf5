#!/usr/bin/env bash
# Install the headless browser the report and supervisor tests drive: Debian's chromium (apt),
# plus the Python `playwright` driver in .venv. Idempotent: does nothing when both are present.
# Never runs `playwright install` (that downloads a browser build); tests launch
# executable_path=/usr/bin/chromium instead.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "install-browser: chromium missing and not root; run: apt-get install -y chromium" >&2
      exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi

# A CJK font, so Chinese text in report.html and the supervisor view renders as Chinese and not
# as missing-glyph boxes (tests/test_cjk_render.py checks it).
if ! fc-list :lang=zh 2>/dev/null | grep -q .; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "install-browser: no CJK font and not root; run: apt-get install -y fonts-noto-cjk" >&2
      exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends fonts-noto-cjk >/dev/null
fi

if [ -x .venv/bin/python ] && ! .venv/bin/python -c 'import playwright' >/dev/null 2>&1; then
  .venv/bin/python -m pip install -q playwright
fi
echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo missing)"
