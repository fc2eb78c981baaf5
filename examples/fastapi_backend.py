"""Embedding alliance-monitor in a FastAPI chat backend: messages flow in, alerts flow out.

The backend owns its chat API. Every message it stores is also handed to the monitor (no HTTP
hop, no signature: it is the same process); events the supervisor should see come back through
`monitor.on` and are kept for a supervisor endpoint (a real backend would push them to a queue
or a websocket). Other services of the platform can post messages to the generic, signed
webhook receiver mounted at /hooks/messages.

    pip install "alliance-monitor[serve]" fastapi
    python examples/fastapi_backend.py            # serve on 127.0.0.1:8000
    python examples/fastapi_backend.py --demo     # serve on a free port, chat a little, print
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

try:
    from fastapi import FastAPI, HTTPException
    from pydantic import BaseModel
except ImportError:
    sys.exit("this example needs FastAPI: pip install fastapi 'alliance-monitor[serve]'")

from alliance_monitor import Event, Monitor
from alliance_monitor.adapters import HttpAdapter, WebhookReceiver
from alliance_monitor.alerts import WebhookSigner, generate_webhook_secret

HOOK_SECRET = os.environ.get("CHAT_HOOK_SECRET") or generate_webhook_secret()
ALERT_TYPES = {
    "safety_signal",
    "alliance_declined",
    "alliance_low",
    "passive_pattern",
    "directive_pattern",
    "session_summary",
}

monitor = Monitor()
receiver = WebhookReceiver(HttpAdapter(HOOK_SECRET), monitor)
alerts: deque[dict[str, Any]] = deque(maxlen=200)


def keep_alert(event: Event) -> None:
    # Events carry ids, scores and feedback, never the message text (include_text=False).
    alerts.append(event.model_dump(mode="json"))


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with monitor, receiver:  # receiver exits first: its queue drains into the monitor
        monitor.on(keep_alert, types=ALERT_TYPES)
        yield


app = FastAPI(title="chat backend with alliance-monitor", lifespan=lifespan)
# A route, not a mount: Starlette redirects a mount's bare path (307), which platforms don't follow.
app.add_route("/hooks/messages", receiver, methods=["POST"])


class ChatMessage(BaseModel):
    id: str
    sender: str
    role: str  # the backend knows who is the counselor
    text: str
    ts: float


@app.post("/conversations/{conversation_id}/messages", status_code=201)
async def post_message(conversation_id: str, message: ChatMessage) -> dict[str, str]:
    # ... store the message in the backend's own database first ...
    result = await monitor.ingest(
        {
            "conversation_id": conversation_id,
            "id": message.id,
            "role": message.role,
            "text": message.text,
            "ts": message.ts,
            ("counselor_id" if message.role == "counselor" else "client_id"): message.sender,
        }
    )
    if result.status == "rejected":
        raise HTTPException(422, f"not monitored: {result.reason}")
    return {"status": result.status}


@app.post("/conversations/{conversation_id}/end")
async def end_session(conversation_id: str) -> dict[str, str]:
    await monitor.end_session(conversation_id)
    return {"status": "ended"}


@app.get("/supervisor/alerts")
async def supervisor_alerts() -> list[dict[str, Any]]:
    return list(alerts)


def demo() -> int:
    import time

    import httpx

    from alliance_monitor.adapters.testing import serve_in_thread

    chat = [
        ("counselor", "dr-lee", "Hi Sam, what would you like to focus on today?"),
        ("client", "sam", "I don't know. Work has been too much and I can't sleep."),
        ("counselor", "dr-lee", "You should just go to bed earlier."),
        ("client", "sam", "I tried. Sometimes I think I want to kill myself."),
        ("counselor", "dr-lee", "That sounds really heavy. Thank you for telling me."),
    ]
    with serve_in_thread(app) as base:
        for i, (role, sender, text) in enumerate(chat):
            r = httpx.post(
                f"{base}/conversations/pair-1/messages",
                timeout=10,
                json={"id": f"m{i}", "sender": sender, "role": role, "text": text, "ts": 100.0 + i},
            )
            print(f"POST message {i} ({role}): {r.status_code} {r.json()['status']}")
        # Another service of the platform posts through the signed webhook receiver.
        r = httpx.post(
            f"{base}/hooks/messages",
            timeout=10,
            headers={"webhook-id": "hook-1"},
            auth=WebhookSigner([HOOK_SECRET]),
            json={
                "conversation_id": "pair-2",
                "id": "x1",
                "role": "client",
                "text": "Is anyone there?",
                "ts": 200.0,
            },
        )
        print(f"POST /hooks/messages (signed): {r.status_code}")
        httpx.post(f"{base}/conversations/pair-1/end", timeout=10)
        deadline = time.monotonic() + 10
        got: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            got = httpx.get(f"{base}/supervisor/alerts", timeout=10).json()
            if any(a["type"] == "session_summary" for a in got):
                break
            time.sleep(0.1)
        for a in got:
            print(f"ALERT {a['type']} for {a['conversation_id']}")
    return 0 if any(a["type"] == "safety_signal" for a in got) else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--demo", action="store_true", help="chat a little on a free port and exit")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    args = p.parse_args()
    if args.demo:
        return demo()
    import uvicorn

    uvicorn.run(app, host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
