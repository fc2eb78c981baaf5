"""One delivery attempt, the retry schedule and Retry-After.

Only a 2xx answer is success. 410 Gone means the receiver wants no more webhooks: the endpoint
is disabled. Everything else (3xx, 4xx, 5xx, timeouts, refused or reset connections) is a
failure retried on the schedule; a Retry-After header (seconds or an HTTP date) pushes the next
attempt later, never earlier. Redirects are not followed (a 3xx is a failure, as the Standard
Webhooks spec recommends, and a redirect must not steer a request to an internal address).
"""

from __future__ import annotations

import email.utils
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import anyio
import httpx

__all__ = [
    "DEFAULT_RETRY_SCHEDULE",
    "AttemptResult",
    "attempt",
    "next_delay",
    "parse_retry_after",
]

#: Delay before each attempt, in seconds, counted from the failure of the previous one:
#: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (Svix's schedule; about 27.6 h in all).
DEFAULT_RETRY_SCHEDULE: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)

#: A Retry-After further away than this is capped (a receiver cannot park an alert for a week).
MAX_RETRY_AFTER = 86400.0


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; None if absent
    or unreadable. Capped at `MAX_RETRY_AFTER`; a date in the past gives 0."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # not "²": isdigit() alone accepts it
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return min(max(0.0, when.timestamp() - now), MAX_RETRY_AFTER)


def next_delay(
    schedule: Sequence[float], attempts_made: int, jitter: float, rng: random.Random
) -> float | None:
    """Delay before the next attempt after `attempts_made` failed ones; None when exhausted.

    Jitter spreads each delay uniformly by +-`jitter` (a fraction) so retries of many alerts
    do not arrive at a recovering receiver all at once.
    """
    if attempts_made >= len(schedule):
        return None
    base = float(schedule[attempts_made])
    return base * rng.uniform(1.0 - jitter, 1.0 + jitter) if base > 0 else 0.0


@dataclass(frozen=True, slots=True)
class AttemptResult:
    outcome: Literal["delivered", "retry", "gone"]
    #: An error code, never a response body: ``http_503``, ``timeout``, ``connect_error``...
    error: str | None = None
    http_status: int | None = None
    retry_after: float | None = None


async def attempt(
    client: httpx.AsyncClient,
    url: str,
    webhook_id: str,
    body: bytes,
    *,
    auth: httpx.Auth | None,
    limit: float,
    now: float,
) -> AttemptResult:
    """POST `body` once. The response body is never read; `limit` seconds bound the whole
    request (connect, send, answer)."""
    headers = {"content-type": "application/json", "webhook-id": webhook_id}
    try:
        with anyio.fail_after(limit):
            async with client.stream(
                "POST", url, content=body, headers=headers, auth=auth or httpx.USE_CLIENT_DEFAULT
            ) as response:
                status = response.status_code
                retry_after = parse_retry_after(response.headers.get("retry-after"), now)
    except (TimeoutError, httpx.TimeoutException):
        return AttemptResult("retry", "timeout")
    except httpx.ConnectError:
        return AttemptResult("retry", "connect_error")
    except httpx.RemoteProtocolError:
        return AttemptResult("retry", "protocol_error")
    except httpx.HTTPError:
        return AttemptResult("retry", "transport_error")
    if 200 <= status < 300:
        return AttemptResult("delivered", None, status)
    if status == 410:
        return AttemptResult("gone", "http_410", status)
    return AttemptResult("retry", f"http_{status}", status, retry_after)
