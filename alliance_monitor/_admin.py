"""The erasure endpoint of `serve`: a pure ASGI app that erases one pair on a signed request.

    POST /admin/erase   {"conversation_id": "c-123"}
    -> 200 {"conversation_id": "c-123", "removed": {"store.journal_messages": 4, ...}, "total": 9}

Requests are signed the Standard Webhooks way, like the message webhooks and the ratings
endpoint (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``: HMAC-SHA256 over
``{id}.{timestamp}.{body}`` with a ``whsec_`` secret of `[admin] secrets_env`; a timestamp
outside `tolerance` is refused, so a captured request cannot be replayed later). An erasure is
idempotent: a second request for the same pair reports zeros.

Answers: 200 with what was removed where (counts, never content); 400 ``{"error": reason}`` for
a body that is not ``{"conversation_id": "..."}``; 401 for a bad or missing signature; 405 for
anything but POST; 413 beyond `max_body`; 408 when the body is slow; 503 with Retry-After when
the erasure could not be completed now (the store failed, or in a scale-out deployment no worker
answered in time): send it again. The conversation id is logged as a count only, never the body.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import anyio

from ._errors import AllianceMonitorError, JSONRejected
from ._safejson import loads as safe_json_loads
from .alerts import WebhookVerificationError, decode_secret, verify_webhook
from .asgi import BodyTooLarge, Receive, Scope, Send, read_body, send_json

__all__ = ["EraseEndpoint"]

#: Erases one pair and says what it removed (`Erasure.to_json()`).
EraseFn = Callable[[str], Awaitable[Mapping[str, Any]]]

_log = logging.getLogger("alliance_monitor.serve")
_MAX_ID = 512


class EraseEndpoint:
    """POST a signed ``{"conversation_id": ...}``: the pair is erased everywhere it is held."""

    def __init__(
        self,
        erase: EraseFn,
        secrets: Sequence[str],
        *,
        tolerance: float = 300.0,
        max_body: int = 4096,
        body_timeout: float = 10.0,
        retry_after: int = 5,
    ) -> None:
        self._erase = erase
        self._secrets = list(secrets)
        if not self._secrets:
            raise ValueError("the erasure endpoint needs at least one secret")
        for s in self._secrets:
            decode_secret(s)  # a bad secret fails at start-up, without showing it
        self.tolerance = tolerance
        self.max_body = max_body
        self.body_timeout = body_timeout
        self.retry_after = retry_after
        #: Requests by outcome (`erased`, `failed`, and refusals by reason).
        self.counts: Counter[str] = Counter()

    def __repr__(self) -> str:
        return f"EraseEndpoint(<{len(self._secrets)} secret(s)>)"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            return
        if scope.get("method") != "POST":
            await self._refuse(send, 405, "method_not_allowed", (("allow", "POST"),))
            return
        try:
            with anyio.fail_after(self.body_timeout):
                body = await read_body(scope, receive, self.max_body)
        except BodyTooLarge:
            await self._refuse(send, 413, "too_large")
            return
        except TimeoutError:
            await self._refuse(send, 408, "body_timeout")
            return
        try:
            headers = scope.get("headers") or ()
            verify_webhook(headers, body, self._secrets, tolerance=self.tolerance)
        except WebhookVerificationError as exc:
            await self._refuse(send, 401, exc.reason)
            return
        conv = _conversation_id(body)
        if conv is None:
            await self._refuse(send, 400, "bad_body")
            return
        try:
            report = await self._erase(conv)
        except (AllianceMonitorError, OSError, TimeoutError) as exc:
            self.counts["failed"] += 1
            _log.error("alliance_monitor.erasure_failed", extra={"error": type(exc).__name__})
            await send_json(
                send,
                503,
                {"error": "not_erased", "detail": type(exc).__name__},
                (("retry-after", str(self.retry_after)),),
            )
            return
        self.counts["erased"] += 1
        await send_json(send, 200, dict(report))

    async def _refuse(
        self, send: Send, status: int, reason: str, headers: tuple[tuple[str, str], ...] = ()
    ) -> None:
        self.counts[reason] += 1
        _log.info("alliance_monitor.erasure_refused", extra={"reason": reason})
        await send_json(send, status, {"error": reason}, headers)


def _conversation_id(body: bytes) -> str | None:
    try:
        data = safe_json_loads(body)
    except JSONRejected:
        return None
    conv = data.get("conversation_id") if isinstance(data, dict) else None
    if isinstance(conv, int) and not isinstance(conv, bool):
        conv = str(conv)
    if not isinstance(conv, str) or not conv or len(conv) > _MAX_ID:
        return None
    return conv
