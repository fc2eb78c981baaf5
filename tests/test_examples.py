"""Every example in examples/ runs."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from alliance_monitor._settings import load_settings

pytest.importorskip("uvicorn")

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
SERVE_ENV = {
    "HTTP_HOOK_SECRET": "whsec_" + "ZXhhbXBsZS1zZXJ2ZS1odHRwLXNlY3JldC0xMjM0NTY=",
    "SLACK_SIGNING_SECRET": "example-slack-secret",
    "TWILIO_AUTH_TOKEN": "example-twilio-token",
    "SUNCO_WEBHOOK_SECRET": "example-sunco-secret",
}


def run_example(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )


@pytest.mark.skipif(importlib.util.find_spec("fastapi") is None, reason="fastapi not installed")
def test_fastapi_backend_demo() -> None:
    out = run_example("fastapi_backend.py", "--demo")
    assert out.returncode == 0, out.stderr
    assert "ALERT safety_signal for pair-1" in out.stdout
    assert "ALERT session_summary for pair-1" in out.stdout
    assert "POST /hooks/messages (signed): 202" in out.stdout


def test_fastapi_backend_says_what_to_install() -> None:
    # Runs whether or not fastapi is installed: the import is blocked in the child process.
    code = (
        "import sys, runpy; sys.modules['fastapi'] = None; "
        f"sys.argv = [{str(EXAMPLES / 'fastapi_backend.py')!r}, '--demo']; "
        "runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO
    )
    assert out.returncode != 0 and "pip install fastapi" in out.stderr


def test_slack_app_demo() -> None:
    out = run_example("slack_app.py", "--demo")
    assert out.returncode == 0, out.stderr
    assert "url_verification: 200 {'challenge': 'demo-challenge'}" in out.stdout
    assert "forged request: 401" in out.stdout
    assert "monitor accepted 4 message(s); receiver: 1 retry ignored" in out.stdout


def test_twilio_conversations_demo() -> None:
    out = run_example("twilio_conversations.py", "--demo")
    assert out.returncode == 0, out.stderr
    assert "EVENT safety_signal CH0001" in out.stdout
    assert "forged request: 403" in out.stdout
    assert "monitor accepted 3 message(s)" in out.stdout


def test_serve_toml_is_valid_and_serves() -> None:
    config = EXAMPLES / "serve.toml"
    settings = load_settings(config, SERVE_ENV)
    assert [a.type for a in settings.adapters] == ["http", "slack", "twilio", "zendesk"]
    code = (
        "import sys; from argparse import Namespace; from alliance_monitor._cli_service import "
        "cmd_serve; sys.exit(cmd_serve(Namespace(config=sys.argv[1], host='127.0.0.1', "
        "port=0)))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(config)],
        text=True,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env={**os.environ, **SERVE_ENV},
    )
    assert proc.stderr is not None
    try:
        base = ""
        deadline = time.monotonic() + 60
        while not base and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line and proc.poll() is not None:
                break
            if "listening on " in line:
                base = line.split("listening on ", 1)[1].strip()
        assert base, "serve did not start"
        ready = httpx.get(base + "/readyz", timeout=5).json()
        assert ready["ready"] and set(ready["checks"]) == {
            "started",
            "monitor",
            "store",
            "receiver:/hooks/messages",
            "receiver:/hooks/slack",
            "receiver:/hooks/twilio",
            "receiver:/hooks/zendesk",
        }
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=60)
        rest = proc.stderr.read()
        proc.stderr.close()
    assert rc == 0 and "stopped; 0 message(s) in" in rest
