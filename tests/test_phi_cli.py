"""Issue 11, finding 3, end to end as reported: `replay --llm-feedback --webhook --outbox` with a
model that echoes what it is shown. The model is a scripted OpenAI-compatible server on a real
loopback socket (it answers like the echoing double of test_phi_feedback.py); alerts go to a real
signed-webhook receiver. Planted identifiers must reach none of: stdout, stderr, webhook
payloads, the outbox file.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import anyio
import pytest
from test_phi_feedback import CLIENT_LINES, _files_text, leaks, scripted

from alliance_monitor.adapters.testing import serve_in_thread
from alliance_monitor.alerts import generate_webhook_secret
from alliance_monitor.alerts.testing import LoopbackReceiver

pytest.importorskip("uvicorn")


class EchoingModel:
    """POST /v1/chat/completions: the scripted echo answer; counts calls."""

    def __init__(self) -> None:
        self.calls = [0]
        self.shown: list[str] = []
        self._reply = scripted(self.calls, self.shown)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            m = await receive()
            body += m.get("body", b"")
            if not m.get("more_body"):
                break
        reply = self._reply(json.loads(body))
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": reply.content})


def planted_demo(tmp_path: Path) -> Path:
    demo = resources.files("alliance_monitor").joinpath("demo_data/demo.jsonl")
    out = tmp_path / "planted.jsonl"
    lines = []
    for i, line in enumerate(demo.read_text(encoding="utf-8").splitlines()):
        conv = json.loads(line)
        for j, m in enumerate(conv["messages"]):
            if m["role"] == "client":
                m["text"] += " " + CLIENT_LINES[(i + j) % len(CLIENT_LINES)]
        lines.append(json.dumps(conv))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


@pytest.mark.anyio
async def test_replay_with_llm_feedback_leaks_no_planted_identifier(tmp_path: Path) -> None:
    src = planted_demo(tmp_path)
    model = EchoingModel()
    secret = generate_webhook_secret()
    outbox = tmp_path / "outbox.db"
    with serve_in_thread(model) as llm:
        async with LoopbackReceiver([secret]) as rx:
            res = await anyio.run_process(
                [
                    sys.executable,
                    "-m",
                    "alliance_monitor.cli",
                    "replay",
                    str(src),
                    "--json",
                    "--llm-feedback",
                    "--llm-base-url",
                    llm + "/v1",
                    "--llm-model",
                    "m",
                    "--webhook",
                    rx.url,
                    "--webhook-secret",
                    secret,
                    "--allow-private-webhooks",
                    "--outbox",
                    str(outbox),
                    "--drain-timeout",
                    "20",
                ],
                check=False,
            )
    out, err = res.stdout.decode(), res.stderr.decode()
    assert res.returncode == 0, err
    # The model was asked for feedback, saw the identifiers redaction cannot know (a name
    # opening a sentence, a workplace), and echoed them; the rest was redacted before it.
    assert model.calls[0] >= 3
    assert any("Wendell" in s or "Riverside" in s for s in model.shown)
    assert not any("PATIENT-ZX81" in s or "Jane" in s for s in model.shown)
    events = [json.loads(x) for x in out.splitlines()]
    assert any(e.get("feedback") for e in events)
    assert rx.processed
    rows = "\n".join(repr(r) for r in sqlite3.connect(outbox).execute("SELECT * FROM alerts"))
    files = _files_text(tmp_path, "outbox.db*")
    exits = {
        "stdout": out,
        "stderr": err,
        "webhooks": "\n".join(d.body.decode() for d in rx.requests),
        "outbox_rows": rows,
        "outbox_files": files,
    }
    assert {k: leaks(v) for k, v in exits.items()} == {k: [] for k in exits}
