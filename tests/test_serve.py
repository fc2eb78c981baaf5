"""`alliance-monitor serve`: the config file, and the whole service in a real process."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from argparse import Namespace
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import signed_headers

from alliance_monitor import ConfigError
from alliance_monitor._cli_service import cmd_serve
from alliance_monitor._settings import load_settings
from alliance_monitor.adapters.slack import sign_slack
from alliance_monitor.adapters.testing import serve_in_thread
from alliance_monitor.alerts import verify_webhook

pytest.importorskip("uvicorn")

HTTP_SECRET = "whsec_" + "c2VydmUtdGVzdC1odHRwLXNlY3JldC0xMjM0NTY3OA=="
ALERT_SECRET = "whsec_" + "c2VydmUtdGVzdC1hbGVydC1zZWNyZXQtODc2NTQzMjE="
SLACK_SECRET = "serve-test-slack-secret"
ENV = {
    "AM_HTTP_SECRET": HTTP_SECRET,
    "AM_SLACK_SECRET": SLACK_SECRET,
    "AM_ALERT_SECRET": ALERT_SECRET,
}


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "serve.toml"
    p.write_text(text)
    return p


# ---------------------------------------------------------------------- configuration
def test_unknown_key_is_named(tmp_path: Path) -> None:
    p = write(tmp_path, "[server]\nprot = 8080\n")
    with pytest.raises(ConfigError, match=r"server\.prot: Extra inputs are not permitted"):
        load_settings(p, {})


def test_errors_never_echo_values(tmp_path: Path) -> None:
    leaked = "whsec_TOPSECRETVALUEthatmustnotleak"
    p = write(
        tmp_path,
        f'''
[[adapters]]
type = "slack"
secrets_env = ["X"]
tolerance = "{leaked}"
''',
    )
    with pytest.raises(ConfigError) as info:
        load_settings(p, {"X": "s"})
    assert "adapters[0].slack.tolerance" in str(info.value)
    assert leaked not in str(info.value)


def test_missing_secret_env_names_the_variable_not_a_value(tmp_path: Path) -> None:
    p = write(tmp_path, '[[adapters]]\ntype = "http"\nsecrets_env = ["AM_NOT_SET"]\n')
    with pytest.raises(ConfigError, match=r"adapters\[0\]\.secrets_env: .*AM_NOT_SET is not set"):
        load_settings(p, {})


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ('[[adapters]]\ntype = "slack"\n', r"adapters\[0\]\.slack: Value error, give secrets_env"),
        ('[[adapters]]\ntype = "telegram"\n', r"adapters\[0\]: Input tag 'telegram'"),
        ('[scorer]\nkind = "llm"\n', r"scorer: Value error, the llm scorer needs base_url"),
        (
            '[[adapters]]\ntype = "http"\nsecrets_env = ["X"]\n[[adapters]]\ntype = "http"\n'
            'secrets_env = ["X"]\n',
            "two adapters share a path",
        ),
        (
            '[[adapters]]\ntype = "matrix"\nhomeserver = "h"\nuser_id = "@u:h"\n',
            "give access_token_env",
        ),
        ("[server\n", "not valid TOML"),
    ],
)
def test_config_errors(tmp_path: Path, text: str, pattern: str) -> None:
    with pytest.raises(ConfigError, match=pattern):
        load_settings(write(tmp_path, text), {"X": "x"})


def test_cmd_serve_reports_config_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = write(tmp_path, '[[adapters]]\ntype = "http"\nsecrets = ["not-a-whsec-secret!"]\n')
    assert cmd_serve(Namespace(config=str(p), host=None, port=None)) == 2
    err = capsys.readouterr().err
    assert "adapters[0]" in err and "not-a-whsec-secret" not in err
    assert cmd_serve(Namespace(config=str(tmp_path / "nope.toml"), host=None, port=None)) == 2


# ---------------------------------------------------------------------- the service
class AlertSink:
    """A loopback webhook endpoint that keeps what it is sent."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            m = await receive()
            body += m.get("body", b"")
            if not m.get("more_body"):
                break
        hdrs = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.received.append((hdrs, body))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


class Proc:
    def __init__(
        self,
        config: Path,
        preexec_fn: Callable[[], None] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        code = (
            "import sys; from argparse import Namespace; from alliance_monitor._cli_service "
            "import cmd_serve; sys.exit(cmd_serve(Namespace(config=sys.argv[1], "
            "host='127.0.0.1', port=0)))"
        )
        self.p = subprocess.Popen(
            [sys.executable, "-c", code, str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **ENV, **(env or {})},
            preexec_fn=preexec_fn,
        )
        self.err: queue.Queue[str] = queue.Queue()
        self.err_lines: list[str] = []
        #: The supervisor board's URL on its own listener, when it has one.
        self.board = ""
        self.out_lines: list[str] = []
        self.threads = [
            threading.Thread(target=self._pipe, args=(self.p.stderr, self.err), daemon=True),
            threading.Thread(target=self._drain, daemon=True),
        ]
        for t in self.threads:
            t.start()
        try:
            self.base = self._wait_listening()
        except AssertionError:
            self._close()
            raise

    def _pipe(self, stream: Any, q: queue.Queue[str]) -> None:
        for line in stream:
            q.put(line)

    def _drain(self) -> None:
        assert self.p.stdout is not None
        for line in self.p.stdout:
            self.out_lines.append(line)

    def _wait_listening(self) -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                line = self.err.get(timeout=0.5)
            except queue.Empty:
                if self.p.poll() is not None:
                    break
                continue
            self.err_lines.append(line)
            if "supervisor board on " in line:
                self.board = line.split("supervisor board on ", 1)[1].strip().rstrip("/")
            if "listening on " in line:
                return line.split("listening on ", 1)[1].strip()
        self.p.kill()
        self.p.wait()
        raise AssertionError("service did not start: " + "".join(self.err_lines))

    def _close(self) -> None:
        for t in self.threads:
            t.join(timeout=10)
        for stream in (self.p.stdout, self.p.stderr):
            if stream is not None:
                stream.close()

    def stop(self, timeout: float = 60) -> int:
        self.p.send_signal(signal.SIGTERM)
        rc = self.p.wait(timeout=timeout)
        self._close()
        while not self.err.empty():
            self.err_lines.append(self.err.get())
        return rc


def wait_for(pred: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def metrics(base: str) -> dict[str, float]:
    r = httpx.get(base + "/metrics", timeout=5)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    out = {}
    for line in r.text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def signed(body: bytes, wid: str) -> dict[str, str]:
    return signed_headers(HTTP_SECRET, body, wid)


@pytest.fixture
def sink() -> Iterator[tuple[AlertSink, str]]:
    s = AlertSink()
    with serve_in_thread(s) as base:
        yield s, base


def test_the_service_end_to_end(tmp_path: Path, sink: tuple[AlertSink, str]) -> None:
    alerts, alert_base = sink
    feed = tmp_path / "feed.jsonl"
    feed.write_text("")
    config = write(
        tmp_path,
        f'''
[server]
shutdown_timeout = 10
queue_size = 500

[monitor]
end_sessions_on_shutdown = true

[[adapters]]
type = "http"
path = "/hooks/messages"
secrets_env = ["AM_HTTP_SECRET"]

[[adapters]]
type = "slack"
path = "/hooks/slack"
secrets_env = ["AM_SLACK_SECRET"]
counselors = ["U0COUNSEL"]
conversations = {{ "C0PAIR" = "slack-pair" }}

[[adapters]]
type = "jsonl"
file = "{feed}"
follow = true
poll_interval = 0.05

[alerts]
outbox_path = "{tmp_path / "outbox.db"}"
allow_private = true  # the test's receiver is on loopback

[[alerts.endpoints]]
url = "{alert_base}/alerts"
secrets_env = ["AM_ALERT_SECRET"]
event_types = ["safety_signal"]
''',
    )
    proc = Proc(config)
    try:
        base = proc.base
        assert httpx.get(base + "/healthz", timeout=5).json() == {"status": "ok"}
        ready = httpx.get(base + "/readyz", timeout=5)
        assert ready.status_code == 200 and ready.json()["ready"] is True
        assert httpx.get(base + "/nope", timeout=5).status_code == 404

        # Generic webhook: a batch, a bad signature, a malformed body.
        batch = [
            {
                "conversation_id": "web-pair",
                "id": f"w{i}",
                "role": "counselor" if i % 2 else "client",
                "text": f"message number {i}",
                "ts": 1000.0 + i,
            }
            for i in range(12)
        ]
        body = json.dumps({"messages": batch}).encode()
        url = base + "/hooks/messages"
        assert (
            httpx.post(url, content=body, headers=signed(body, "msg_a"), timeout=5).status_code
            == 202
        )
        assert (
            httpx.post(
                url, content=body + b" ", headers=signed(body, "msg_b"), timeout=5
            ).status_code
            == 401
        )
        assert (
            httpx.post(url, content=b"{", headers=signed(b"{", "msg_c"), timeout=5).status_code
            == 400
        )

        # Slack.
        for i, user in enumerate(["U0COUNSEL", "U0CLIENT"]):
            ev = {
                "type": "event_callback",
                "event_id": f"Ev{i}",
                "event": {
                    "type": "message",
                    "channel": "C0PAIR",
                    "user": user,
                    "text": f"slack {i}",
                    "ts": f"{1_700_000_000 + i}.0001",
                },
            }
            sb = json.dumps(ev).encode()
            ts = int(time.time())
            r = httpx.post(
                base + "/hooks/slack",
                content=sb,
                timeout=5,
                headers={
                    "content-type": "application/json",
                    "x-slack-request-timestamp": str(ts),
                    "x-slack-signature": sign_slack(SLACK_SECRET, ts, sb),
                },
            )
            assert r.status_code == 200

        # JSONL feed: a risk statement from a client raises a safety signal, alerted.
        with feed.open("a") as f:
            f.write(
                json.dumps(
                    {
                        "conversation_id": "file-pair",
                        "id": "f1",
                        "role": "counselor",
                        "text": "How have things been since last week?",
                        "ts": 1.0,
                    }
                )
                + "\n"
            )
            f.write(
                json.dumps(
                    {
                        "conversation_id": "file-pair",
                        "id": "f2",
                        "role": "client",
                        "text": "Honestly I want to kill myself.",
                        "ts": 2.0,
                    }
                )
                + "\n"
            )
            f.write("this line is not json\n")
        wait_for(lambda: metrics(base).get("alliance_monitor_messages_accepted_total") == 16)
        wait_for(lambda: len(alerts.received) >= 1)
        hdrs, payload = alerts.received[0]
        verify_webhook(hdrs, payload, [ALERT_SECRET])
        assert json.loads(payload)["type"].endswith("safety_signal")
        assert b"kill myself" not in payload  # alerts carry ids, not text

        m = metrics(base)
        assert m['alliance_monitor_messages_rejected_total{reason="invalid_json"}'] == 2
        refused = (
            'alliance_monitor_webhook_refused_total{adapter="http",'
            'path="/hooks/messages",reason="bad_signature"}'
        )
        assert m[refused] == 1
        assert m['alliance_monitor_queue_depth{adapter="slack",path="/hooks/slack"}'] == 0
        assert m['alliance_monitor_pull_items_total{adapter="jsonl",outcome="accepted"}'] == 2
        assert 'alliance_monitor_llm_tokens_total{kind="prompt"}' in m
        assert m["alliance_monitor_alerts_sent_total"] >= 1
        assert m["alliance_monitor_safety_signals_total"] == 1
        # the same families as alliance_monitor.metrics gives an embedder (safety signals among
        # the events by type; every reject reason present, zero or not)
        assert m['alliance_monitor_events_total{type="safety_signal"}'] == 1
        assert m['alliance_monitor_messages_rejected_total{reason="bad_role"}'] == 0

        # Messages that arrive just before SIGTERM are still ingested (queues drain).
        late = [{**batch[0], "id": f"late{i}"} for i in range(30)]
        lb = json.dumps({"messages": late}).encode()
        assert (
            httpx.post(url, content=lb, headers=signed(lb, "msg_late"), timeout=5).status_code
            == 202
        )
    finally:
        rc = proc.stop()
    summary = "".join(proc.err_lines)
    assert rc == 0, summary
    assert "46 accepted" in summary, summary
    # The exit summary adds up, input the edges rejected (bad JSON lines, a malformed body)
    # and internal errors included: in = accepted + duplicate + rejected.
    found = re.search(
        r"(\d+) message\(s\) in, (\d+) accepted, (\d+) duplicate, (\d+) rejected", summary
    )
    assert found is not None, summary
    n_in, accepted, duplicate, rejected = map(int, found.groups())
    assert rejected >= 2 and n_in == accepted + duplicate + rejected, found.group(0)
    assert "kill myself" not in summary + "".join(proc.out_lines)


def test_readiness_fails_when_a_pull_input_is_down(tmp_path: Path) -> None:
    pytest.importorskip("nio")
    config = write(
        tmp_path,
        """
[[adapters]]
type = "matrix"
homeserver = "http://127.0.0.1:9"
user_id = "@monitor:localhost"
access_token_env = "AM_HTTP_SECRET"
sync_timeout = 0.2
""",
    )
    proc = Proc(config)
    try:
        wait_for(lambda: httpx.get(proc.base + "/readyz", timeout=5).status_code == 503)
        body = httpx.get(proc.base + "/readyz", timeout=5).json()
        assert body["checks"] == {
            "started": True,
            "monitor": True,
            "store": True,
            "pull:matrix": False,
        }
        assert httpx.get(proc.base + "/healthz", timeout=5).status_code == 200
    finally:
        assert proc.stop() == 0


def test_supervisor_view_is_served_when_enabled(tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    rows = [
        {
            "conversation_id": "sv-pair",
            "id": f"s{i}",
            "role": "counselor" if i % 2 == 0 else "client",
            "text": "You should just do what I say." if i % 2 == 0 else "No.",
            "ts": float(i),
        }
        for i in range(30)
    ]
    feed.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = write(
        tmp_path,
        f'''
[supervisor]
enabled = true
path = "/supervisor"
port = 0

[[adapters]]
type = "jsonl"
file = "{feed}"
follow = true
poll_interval = 0.05
''',
    )
    proc = Proc(config)
    try:
        # Its own listener (loopback), never the public one the platforms reach.
        assert httpx.get(proc.base + "/supervisor/api/pairs", timeout=5).status_code == 404
        base = proc.board
        assert base.startswith("http://127.0.0.1:") and base != proc.base + "/supervisor"
        page = httpx.get(base + "/", timeout=5)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]

        def listed() -> bool:
            body = httpx.get(base + "/api/pairs", timeout=5).json()
            return "sv-pair" in json.dumps(body)

        wait_for(listed)
        listing = httpx.get(base + "/api/pairs", timeout=5).text
        assert "do what I say" not in listing  # no message text by default
    finally:
        assert proc.stop() == 0
