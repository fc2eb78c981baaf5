"""A real HTTP webhook receiver on loopback, for tests of alert delivery (yours and ours).

    async with LoopbackReceiver(secrets=[secret]) as rx:
        endpoint = WebhookEndpoint(rx.url, [secret])
        ...
        assert await rx.wait_for({"evt_1", "evt_2"}, timeout=5)
        assert all(d.valid for d in rx.requests)

It listens on 127.0.0.1 (a free port unless `port` is given), speaks HTTP/1.1 with keep-alive
(h11, already a dependency of httpx), verifies every Standard Webhooks signature with
`verify_webhook`, and de-duplicates on ``webhook-id`` the way a real receiver should: the first
accepted request of an id is *processed*, later ones are acknowledged and counted as duplicates.
`behaviour` scripts faults (status codes, Retry-After, slow answers) and `stop()` / `start()`
take the endpoint down and bring it back on the same port. Runs in the caller's event loop.
"""

from __future__ import annotations

import inspect
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

import anyio
import h11
from anyio.abc import SocketAttribute, SocketStream, TaskGroup

from ._signing import WebhookVerificationError, verify_webhook

__all__ = ["Delivery", "LoopbackReceiver", "Reply"]

_MAX_BODY = 1 << 20


@dataclass(slots=True)
class Delivery:
    """One request the receiver got."""

    id: str | None
    #: 1 for the first request carrying this webhook id, 2 for the second...
    attempt: int
    headers: dict[str, str]
    body: bytes
    valid: bool
    error: str | None
    at: float
    status: int = 0
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class Reply:
    """How to answer: a status, headers (e.g. Retry-After) and a delay before answering."""

    status: int = 204
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0


Behaviour = Callable[[Delivery], Reply | Awaitable[Reply]]


def _accept(delivery: Delivery) -> Reply:
    return Reply()


class LoopbackReceiver:
    """An in-process webhook receiver on 127.0.0.1 that verifies and de-duplicates."""

    def __init__(
        self,
        secrets: Sequence[str] = (),
        *,
        behaviour: Behaviour | None = None,
        tolerance: float = 300,
        port: int = 0,
        path: str = "/hooks",
    ) -> None:
        self.secrets = list(secrets)
        self.behaviour: Behaviour = behaviour or _accept
        self.tolerance = tolerance
        self.path = path
        self.requests: list[Delivery] = []
        #: The first accepted (2xx) delivery of each webhook id: what the application processed.
        self.processed: dict[str, Delivery] = {}
        self.duplicates = 0
        self._port = port
        self._seen: Counter[str] = Counter()
        self._tg: TaskGroup | None = None
        self._serving: anyio.CancelScope | None = None
        self._stopped = anyio.Event()
        self._changed = anyio.Event()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}{self.path}"

    @property
    def invalid(self) -> list[Delivery]:
        return [d for d in self.requests if not d.valid]

    def attempts(self, webhook_id: str) -> list[Delivery]:
        return [d for d in self.requests if d.id == webhook_id]

    async def __aenter__(self) -> Self:
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._tg is not None
        self._tg.cancel_scope.cancel()
        await self._tg.__aexit__(exc_type, exc, tb)
        self._tg = None

    async def start(self) -> None:
        """Listen (again) on the same port."""
        assert self._tg is not None, "use LoopbackReceiver inside `async with`"
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=self._port)
        self._port = listener.extra(SocketAttribute.local_port)
        scope = self._serving = anyio.CancelScope()
        stopped = self._stopped = anyio.Event()

        async def serve() -> None:
            try:
                with scope:
                    async with listener:
                        await listener.serve(self._connection)
            finally:
                stopped.set()

        self._tg.start_soon(serve)

    async def stop(self) -> None:
        """Close the port and every open connection: the endpoint is down (refused)."""
        if self._serving is not None:
            self._serving.cancel()
            await self._stopped.wait()
            self._serving = None

    async def wait_for(self, ids: Collection[str] | int, timeout: float) -> bool:  # noqa: ASYNC109
        """Wait until these ids (or this many distinct ids) were processed."""
        with anyio.move_on_after(timeout):
            while not self._done(ids):
                self._changed = anyio.Event()
                await self._changed.wait()
            return True
        return False

    def _done(self, ids: Collection[str] | int) -> bool:
        if isinstance(ids, int):
            return len(self.processed) >= ids
        return all(i in self.processed for i in ids)

    # --- HTTP -----------------------------------------------------------------------------

    async def _connection(self, stream: SocketStream) -> None:
        conn = h11.Connection(h11.SERVER)
        try:
            async with stream:
                while True:
                    request = await _read_request(conn, stream)
                    if request is None:
                        return
                    reply = await self._handle(*request)
                    if reply.delay:
                        await anyio.sleep(reply.delay)
                    headers = [(b"content-length", b"0"), *_encode(reply.headers)]
                    data = conn.send(h11.Response(status_code=reply.status, headers=headers))
                    data = (data or b"") + (conn.send(h11.EndOfMessage()) or b"")
                    await stream.send(data)
                    if conn.our_state is h11.MUST_CLOSE:
                        return
                    conn.start_next_cycle()
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, h11.ProtocolError, OSError):
            return

    async def _handle(self, method: bytes, headers: dict[str, str], body: bytes) -> Reply:
        webhook_id = headers.get("webhook-id")
        valid, error = True, None
        if self.secrets:
            try:
                verify_webhook(headers, body, self.secrets, tolerance=self.tolerance)
            except WebhookVerificationError as exc:
                valid, error = False, exc.reason
        if webhook_id:
            self._seen[webhook_id] += 1
        delivery = Delivery(
            id=webhook_id,
            attempt=self._seen[webhook_id] if webhook_id else 1,
            headers=headers,
            body=body,
            valid=valid,
            error=error,
            at=time.monotonic(),
        )
        self.requests.append(delivery)
        if method != b"POST" or not valid or not webhook_id:
            reply = Reply(405 if method != b"POST" else 401)
        elif webhook_id in self.processed:
            delivery.duplicate = True
            self.duplicates += 1
            reply = Reply(204)
        else:
            result = self.behaviour(delivery)
            reply = await result if inspect.isawaitable(result) else result
            if 200 <= reply.status < 300:
                self.processed[webhook_id] = delivery
        delivery.status = reply.status
        self._changed.set()
        return reply


async def _read_request(
    conn: h11.Connection, stream: SocketStream
) -> tuple[bytes, dict[str, str], bytes] | None:
    method = b""
    headers: dict[str, str] = {}
    body = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            try:
                data = await stream.receive(65536)
            except (anyio.EndOfStream, anyio.BrokenResourceError):
                data = b""
            conn.receive_data(data)
        elif isinstance(event, h11.Request):
            method = event.method
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in event.headers}
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > _MAX_BODY:
                return None
        elif isinstance(event, h11.EndOfMessage):
            return method, headers, bytes(body)
        else:  # ConnectionClosed, PAUSED
            return None


def _encode(headers: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
