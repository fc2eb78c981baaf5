"""The ASGI plumbing the library's HTTP endpoints share: a bounded request body, a JSON answer.

    body = await read_body(scope, receive, limit=64 * 1024)   # BodyTooLarge past the limit
    await send_json(send, 200, {"ok": True}, (("retry-after", "5"),))

`WebhookReceiver` (the push adapters' endpoint), the ratings endpoint and `serve`'s erasure
endpoint read bodies with `read_body`; the two JSON endpoints answer with `send_json`. It is
public (the adapters are built on the public API only), so an integration of its own that
serves a platform's webhooks can bound its bodies the same way.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ._errors import AllianceMonitorError

__all__ = ["BodyTooLarge", "Receive", "Scope", "Send", "read_body", "send_json"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class BodyTooLarge(AllianceMonitorError):
    """A request body is longer than its limit (answer 413): declared so in its
    ``content-length``, or found so while reading it, before more than `limit` bytes are kept."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body over the limit of {limit} bytes")
        self.limit = limit


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The request's whole body, read chunk by chunk (``more_body``), at most `limit` bytes.

    Raises `BodyTooLarge` at once when ``content-length`` says more than `limit`, or as soon as
    the chunks received add up to more. A client that disconnects ends the body where it is.
    Bound the time it may take with ``anyio.fail_after`` around the call."""
    declared = dict(scope.get("headers") or ()).get(b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def send_json(
    send: Send, status: int, data: dict[str, Any], headers: tuple[tuple[str, str], ...] = ()
) -> None:
    """Answer `status` with `data` as JSON, never cached (``cache-control: no-store``), with
    `headers` (name, value) after the content headers."""
    body = json.dumps(data).encode()
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *((k.encode(), v.encode()) for k, v in headers),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
