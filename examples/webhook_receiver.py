"""A minimal receiver for alliance-monitor alerts: verify, de-duplicate, hand over.

A plain ASGI application (no framework). Run it with uvicorn (in the dev extras):

    WEBHOOK_SECRETS=whsec_... python examples/webhook_receiver.py          # 127.0.0.1:8000
    WEBHOOK_SECRETS=whsec_... uvicorn examples.webhook_receiver:app --port 8000

`WEBHOOK_SECRETS` holds one secret, or several separated by spaces while you rotate keys. Point
the sender at http://127.0.0.1:8000/hooks (use HTTPS anywhere else).

What it does with each POST:

1. reads the exact body bytes (never re-serialise JSON before verifying);
2. `verify_webhook` checks the signature in constant time and that the timestamp is within
   5 minutes either way (replay protection), else 401;
3. de-duplicates on ``webhook-id``: delivery is at-least-once, so the same alert can arrive
   twice (a retry after a lost answer); a repeat is acknowledged with 204 and not processed again;
4. hands the alert to `handle_alert` and answers 204. Answer quickly (the sender times out after
   15 s by default and retries): queue slow work instead of doing it here.

The id store below is in memory and bounded; a real deployment should record ids where it
records the alert (for example a unique column), and keep them for at least the sender's
whole retry window (about 28 hours with the default schedule).
"""

from __future__ import annotations

import json
import os
import sys
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from alliance_monitor.alerts import WebhookVerificationError, verify_webhook

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY = 64 * 1024  # alerts are under 20 kB


class SeenIds:
    """A bounded set of recently processed webhook ids (oldest forgotten first)."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity

    def add(self, webhook_id: str) -> bool:
        """Record `webhook_id`; False if it was already there (a duplicate)."""
        if webhook_id in self._ids:
            return False
        self._ids[webhook_id] = None
        if len(self._ids) > self._capacity:
            self._ids.popitem(last=False)
        return True


def print_alert(alert: dict[str, Any]) -> None:
    """Default handler: one line per alert (ids and levels only; payloads carry no text)."""
    data = alert.get("data", {})
    print(
        f"[{data.get('severity', '?').upper()}] {data.get('headline', alert.get('type'))} "
        f"conversation={data.get('conversation_id')} counselor={data.get('counselor_id')} "
        f"id={data.get('id')}",
        flush=True,
    )


class WebhookReceiver:
    """ASGI app: POST /hooks with Standard Webhooks headers."""

    def __init__(
        self,
        secrets: list[str],
        handle_alert: Callable[[dict[str, Any]], None] = print_alert,
        *,
        path: str = "/hooks",
        tolerance: float = 300,
    ) -> None:
        if not secrets:
            raise ValueError("set WEBHOOK_SECRETS to the whsec_ secret(s) of the sender")
        self.secrets = secrets
        self.handle_alert = handle_alert
        self.path = path
        self.tolerance = tolerance
        self.seen = SeenIds()
        self.counts = {"processed": 0, "duplicates": 0, "rejected": 0}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["path"] != self.path:
            await _respond(send, 404)
            return
        if scope["method"] != "POST":
            await _respond(send, 405)
            return
        body = await _read_body(receive)
        if body is None:
            await _respond(send, 413)
            return
        try:
            verified = verify_webhook(
                scope["headers"], body, self.secrets, tolerance=self.tolerance
            )
        except WebhookVerificationError as exc:
            self.counts["rejected"] += 1
            print(f"rejected webhook: {exc.reason}", file=sys.stderr, flush=True)
            await _respond(send, 401)
            return
        if not self.seen.add(verified.id):
            self.counts["duplicates"] += 1
            await _respond(send, 204)  # already processed: acknowledge, do nothing
            return
        self.handle_alert(json.loads(body))
        self.counts["processed"] += 1
        await _respond(send, 204)


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _respond(send: Send, status: int) -> None:
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def create_app(environ: MutableMapping[str, str] | None = None) -> WebhookReceiver:
    env = os.environ if environ is None else environ
    return WebhookReceiver(env.get("WEBHOOK_SECRETS", "").split())


class _LazyApp:
    """`uvicorn examples.webhook_receiver:app` builds the receiver on the first event."""

    _app: WebhookReceiver | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            self._app = create_app()
        await self._app(scope, receive, send)


app = _LazyApp()


if __name__ == "__main__":
    try:
        import uvicorn
    except ImportError:
        sys.exit("this example needs uvicorn: pip install 'alliance-monitor[serve]'")
    uvicorn.run(create_app(), host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
