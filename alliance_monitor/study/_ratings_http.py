"""The ratings endpoint: a pure ASGI app taking counselors' ratings of feedback over HTTP.

    endpoint = RatingsEndpoint(FeedbackRatings("ratings.db", board=board), secrets=[...])
    # `alliance-monitor serve` mounts it at [ratings] path (default /feedback/ratings)

It is authenticated like the message webhooks: each request is signed the Standard Webhooks
way (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``: HMAC-SHA256 over
``{id}.{timestamp}.{body}`` with a ``whsec_`` secret; `alliance_monitor.alerts.WebhookSigner`
signs for you) and refused with 401 otherwise. The body is one record of
`parse_feedback_record` (a rating, or a delivery notice).

Answers: 201 ``{"recorded": true}``; 200 ``{"recorded": false, "duplicate": true}`` for a
record already stored (a retry); 400 ``{"error": reason, "field": name}`` for a body that is not
a valid record (the values are never echoed); 401 for a bad or missing signature or a stale
timestamp; 405 for anything but POST; 413 beyond `max_body` bytes; 408 when the body does not
arrive within `body_timeout` seconds. The store's write (an fsync) runs in a worker thread.

Nothing of the body is logged: refusals are logged and counted by reason only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import anyio

from .._safejson import JSONRejected
from .._safejson import loads as safe_json_loads
from ..alerts import WebhookVerificationError, decode_secret, verify_webhook
from ..asgi import BodyTooLarge, Receive, Scope, Send, read_body, send_json
from ._ratings import FeedbackRatings, InvalidRating, parse_feedback_record

__all__ = ["RatingsEndpoint"]

_log = logging.getLogger("alliance_monitor.ratings")


class RatingsEndpoint:
    """POST a signed rating or delivery record; see the module docstring."""

    def __init__(
        self,
        ratings: FeedbackRatings,
        secrets: str | Sequence[str],
        *,
        tolerance: float = 300.0,
        max_body: int = 64 * 1024,
        body_timeout: float = 10.0,
    ) -> None:
        self.ratings = ratings
        self._secrets = [secrets] if isinstance(secrets, str) else list(secrets)
        if not self._secrets:
            raise ValueError("RatingsEndpoint needs at least one secret")
        for s in self._secrets:
            decode_secret(s)  # a bad secret fails at start-up, without showing it
        self.tolerance = tolerance
        self.max_body = max_body
        self.body_timeout = body_timeout

    def __repr__(self) -> str:
        return f"RatingsEndpoint(<{len(self._secrets)} secret(s)>)"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            return
        if scope.get("method") != "POST":
            await send_json(send, 405, {"error": "method_not_allowed"}, (("allow", "POST"),))
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
            verify_webhook(
                scope.get("headers") or (), body, self._secrets, tolerance=self.tolerance
            )
        except WebhookVerificationError as exc:
            await self._refuse(send, 401, exc.reason)
            return
        try:
            record = parse_feedback_record(safe_json_loads(body))
        except JSONRejected as exc:
            await self._refuse(send, 400, exc.reason.value)
            return
        except InvalidRating as exc:
            await self._refuse(send, 400, exc.reason, exc.field)
            return
        new = await anyio.to_thread.run_sync(self.ratings.record, record)
        if new:
            await send_json(send, 201, {"recorded": True})
        else:
            await send_json(send, 200, {"recorded": False, "duplicate": True})

    async def _refuse(self, send: Send, status: int, reason: str, field: str | None = None) -> None:
        self.ratings.refuse(reason)
        _log.info("alliance_monitor.rating_refused", extra={"reason": reason, "field": field})
        body: dict[str, Any] = {"error": reason}
        if field:
            body["field"] = field
        await send_json(send, status, body)
