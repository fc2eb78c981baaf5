"""The HTTP/1.1 listener of `serve`: h11 for the protocol, anyio sockets, limits per client.

`serve` puts signed platform webhooks and its probes behind one listener that anyone on the
network can reach, so the listener itself must not be the weak point. A general-purpose ASGI
server holds a connection that never finishes its request headers open for as long as the client
likes, and caps connections only in total: one address opening a few hundred slow connections
("slowloris") and reconnecting whenever one is closed keeps the cap full, and the platforms'
deliveries wait behind it. This server keeps the accounting that prevents that, per client:

- at most `ListenerLimits.max_connections` open connections in all;
- at most `max_connections_per_client` open connections from one address;
- at most `max_slow_per_client` *slow* ones from one address: connections that have not yet
  delivered a complete request (headers and body). A connection is slow from the moment it is
  accepted until its request is complete, and again from the first byte of its next request;
- request headers must be complete within `header_timeout` seconds (of the connection, or of the
  first byte of a later request on a kept-alive connection); an idle kept-alive connection is
  closed after `keepalive_timeout`; a client that does not read its answer within
  `write_timeout` is dropped.

A connection over a cap is answered ``503`` with ``Retry-After`` and closed at once, so an
address that floods the listener costs it one accept and one write per attempt, and cannot take
the places of other clients. Behind a reverse proxy every connection comes from the proxy:
list it in `trusted_proxies` and the client is the address the proxy puts in
``X-Forwarded-For`` (its right-most entry that is not itself a trusted proxy); the per-client
caps then count that client's requests in progress instead of connections, and a refused
request is answered 503 on the proxy's connection, which stays open. The address of an
untrusted peer's ``X-Forwarded-For`` is never believed.

The server speaks ASGI 3 (``http`` scopes only) to the app it is given; `serve` runs its own
start-up and shutdown around it (no ASGI lifespan). Shutdown: stop accepting, close idle and
not-yet-complete connections, let requests in progress finish (answered with
``Connection: close``) for up to the grace period, then cancel what is left.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import math
import socket
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

import anyio
import h11
from anyio.abc import SocketAttribute, SocketListener, SocketStream, TaskGroup

__all__ = ["HttpServer", "ListenerLimits"]

_log = logging.getLogger("alliance_monitor.serve")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_READ = 65536
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 18\r\nretry-after: 5\r\nconnection: close\r\n\r\nbusy, retry later\n"
)
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class ListenerLimits:
    """Connection limits of one listener (see the module docstring). Keyword-only, validated."""

    #: Open connections at most; beyond, a new one is answered 503 and closed.
    max_connections: int = 256
    #: Open connections from one client address at most (not counted for trusted proxies,
    #: whose clients are counted by their forwarded address instead).
    max_connections_per_client: int = 64
    #: Connections (or, behind a trusted proxy, requests) of one client still sending a request.
    max_slow_per_client: int = 8
    #: Seconds to send a complete request head.
    header_timeout: float = 10.0
    #: Seconds an idle kept-alive connection is kept.
    keepalive_timeout: float = 5.0
    #: Seconds a client has to take an answer.
    write_timeout: float = 10.0
    #: Largest request head (request line and headers) taken; 431 beyond.
    max_header_bytes: int = 64 * 1024
    #: Addresses or networks of reverse proxies whose ``X-Forwarded-For`` is believed.
    trusted_proxies: tuple[str, ...] = ()
    _networks: tuple[_Network, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        from ._errors import ConfigError

        counts = (self.max_connections, self.max_connections_per_client, self.max_slow_per_client)
        if min(counts) < 1:
            raise ConfigError("listener connection limits must be >= 1")
        times = (self.header_timeout, self.keepalive_timeout, self.write_timeout)
        if not all(0 < t < math.inf for t in times):
            raise ConfigError("listener timeouts must be finite and > 0")
        if self.max_header_bytes < 1024:
            raise ConfigError("listener max_header_bytes must be >= 1024")
        nets: list[_Network] = []
        for entry in self.trusted_proxies:
            try:
                nets.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ConfigError(
                    f"trusted_proxies: {entry!r} is not an address or network"
                ) from None
        object.__setattr__(self, "_networks", tuple(nets))

    def trusted(self, address: str) -> bool:
        """Whether `address` is one of the trusted proxies."""
        if not self._networks:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self._networks)

    def client_of(self, peer: str, forwarded: str | None) -> str:
        """The client a request is counted against: the peer, or behind trusted proxies the
        right-most ``X-Forwarded-For`` entry that is not a trusted proxy."""
        if forwarded is None or not self.trusted(peer):
            return peer
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        for hop in reversed(hops):
            addr = _normal(hop)
            if not self.trusted(addr):
                return addr
        return _normal(hops[0]) if hops else peer


def _normal(hop: str) -> str:
    """An address as `ipaddress` writes it (a port or brackets removed), or the text as given."""
    text = hop
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return hop[:64]


class _Clients:
    """Open and slow connections (or forwarded requests) per client address."""

    def __init__(self) -> None:
        self.open: Counter[str] = Counter()
        self.slow: Counter[str] = Counter()

    def add(self, counter: Counter[str], key: str, n: int) -> None:
        counter[key] += n
        if counter[key] <= 0:
            del counter[key]


class _Closed(Exception):
    """The client went away (or broke the protocol) in the middle of a request."""


class _Conn:
    """One connection: its h11 state and its place in the per-client accounting."""

    def __init__(self, server: HttpServer, stream: SocketStream, peer: str, port: int) -> None:
        self.server = server
        self.stream = stream
        self.peer = peer
        self.port = port
        self.h11 = h11.Connection(
            h11.SERVER, max_incomplete_event_size=server.limits.max_header_bytes
        )
        self.proxied = server.limits.trusted(peer)
        #: The address counted for slowness: the peer, or the forwarded client of the request.
        self.key: str | None = None
        self.slow = False

    def set_slow(self, slow: bool, key: str | None = None) -> None:
        clients = self.server.clients
        if self.slow and self.key is not None:
            clients.add(clients.slow, self.key, -1)
        self.slow = slow
        if key is not None:
            self.key = key
        if slow and self.key is not None:
            clients.add(clients.slow, self.key, 1)

    async def write(self, data: bytes) -> None:
        if not data:
            return
        try:
            with anyio.fail_after(self.server.limits.write_timeout):
                await self.stream.send(data)
        except TimeoutError:
            self.server.counts["write_timeout"] += 1
            raise _Closed from None
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            raise _Closed from None

    async def read(self) -> None:
        """Read what the client sent next into h11 (an empty read: the client closed)."""
        try:
            data = await self.stream.receive(_READ)
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            data = b""
        try:
            self.h11.receive_data(data)
        except h11.RemoteProtocolError:
            raise _Closed from None


class HttpServer:
    """Serves an ASGI app on a listener with `ListenerLimits` (module docstring).

    `counts` (shared, for /metrics): ``refused_capacity``, ``refused_client_connections``,
    ``refused_client_slow`` (connections or requests refused by each cap), ``header_timeout``
    (connections closed for a request head not complete in time), ``keepalive_timeout``,
    ``write_timeout``, ``bad_request`` (answered 400 or 431), ``app_error`` (the app raised).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: ListenerLimits | None = None,
        counts: Counter[str] | None = None,
        grace: float = 30.0,
    ) -> None:
        self.app = app
        self.limits = limits or ListenerLimits()
        self.counts: Counter[str] = Counter() if counts is None else counts
        self.grace = grace
        self.clients = _Clients()
        self.open = 0
        self._closing = False
        self._waiting: set[anyio.CancelScope] = set()
        self._idle = anyio.Event()
        self._idle.set()
        self.local: tuple[str, int] = ("", 0)

    # ------------------------------------------------------------------ running
    async def serve(self, listener: SocketListener, stop: anyio.Event) -> None:
        """Accept connections until `stop` is set, then shut down (module docstring)."""
        address = listener.extra(SocketAttribute.local_address)
        self.local = (str(address[0]), int(address[1])) if isinstance(address, tuple) else ("", 0)
        async with anyio.create_task_group() as conns:
            async with anyio.create_task_group() as accepting:
                accepting.start_soon(self._accept, listener, conns)
                await stop.wait()
                accepting.cancel_scope.cancel()
            await listener.aclose()
            self._closing = True
            for scope in list(self._waiting):  # idle or still sending a head: no request yet
                scope.cancel()
            with anyio.move_on_after(self.grace):
                await self._idle.wait()
            conns.cancel_scope.cancel()

    async def _accept(self, listener: SocketListener, conns: TaskGroup) -> None:
        while True:
            try:
                stream = await listener.accept()
            except (OSError, anyio.BrokenResourceError) as exc:  # EMFILE and the like: go on
                self.counts["accept_error"] += 1
                _log.warning("alliance_monitor.accept_failed", extra={"error": type(exc).__name__})
                await anyio.sleep(0.1)
                continue
            conns.start_soon(self._connection, stream)

    # ------------------------------------------------------------------ admission
    def _refusal(self, peer: str, proxied: bool) -> str | None:
        lim = self.limits
        if self.open >= lim.max_connections:
            return "refused_capacity"
        if proxied:
            return None
        if self.clients.open[peer] >= lim.max_connections_per_client:
            return "refused_client_connections"
        if self.clients.slow[peer] >= lim.max_slow_per_client:
            return "refused_client_slow"
        return None

    async def _connection(self, stream: SocketStream) -> None:
        with contextlib.suppress(OSError, anyio.TypedAttributeLookupError):
            raw = stream.extra(SocketAttribute.raw_socket)
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # answers go out at once
        address = stream.extra(SocketAttribute.remote_address)
        peer, port = (str(address[0]), int(address[1])) if isinstance(address, tuple) else ("", 0)
        conn = _Conn(self, stream, peer, port)
        refused = self._refusal(peer, conn.proxied)
        if refused is not None:
            self.counts[refused] += 1
            with anyio.move_on_after(1.0):
                try:
                    await stream.send(_BUSY)
                    await stream.aclose()
                except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                    pass
            await anyio.aclose_forcefully(stream)
            return
        self.open += 1
        self._idle = anyio.Event() if self._idle.is_set() else self._idle
        if not conn.proxied:
            self.clients.add(self.clients.open, peer, 1)
            conn.set_slow(True, peer)  # slow until its first request is complete
        try:
            await self._cycles(conn)
        except _Closed:
            pass
        except Exception as exc:  # a bug of ours: this connection only, never the listener
            self.counts["internal_error"] += 1
            error = type(exc).__name__
            _log.error("alliance_monitor.http_connection_error", extra={"error": error})
        finally:
            conn.set_slow(False)
            if not conn.proxied:
                self.clients.add(self.clients.open, peer, -1)
            self.open -= 1
            if self.open == 0:
                self._idle.set()
            await anyio.aclose_forcefully(stream)

    # ------------------------------------------------------------------ requests
    async def _cycles(self, conn: _Conn) -> None:
        first = True
        while not self._closing:
            request = await self._head(conn, first)
            if request is None:
                return
            first = False
            if conn.proxied:
                forwarded = _header(request.headers, b"x-forwarded-for")
                client = self.limits.client_of(conn.peer, forwarded)
                if not await self._admit_forwarded(conn, client, request):
                    continue
            else:
                client = conn.peer
            await self._respond(conn, request, client)
            if conn.h11.their_state is h11.SEND_BODY:
                await self._discard_body(conn)
            if conn.h11.our_state is h11.MUST_CLOSE or conn.h11.their_state is not h11.DONE:
                return
            if self._closing:
                return
            try:
                conn.h11.start_next_cycle()
            except h11.LocalProtocolError:
                return

    async def _head(self, conn: _Conn, first: bool) -> h11.Request | None:
        """The next request's head, or None (closed, timed out, shutting down)."""
        lim = self.limits
        scope = anyio.CancelScope()
        self._waiting.add(scope)
        started: float | None = anyio.current_time() if first else None
        try:
            with scope:
                while True:
                    event = self._next(conn)
                    if isinstance(event, h11.Request):
                        if _head_size(event) > lim.max_header_bytes:
                            # h11 bounds a head still arriving; one that came whole is
                            # measured here.
                            self.counts["bad_request"] += 1
                            await self._error(conn, 431)
                            return None
                        if not _has_body(event):
                            self._next(conn)  # its EndOfMessage: the request is complete
                        return event
                    if event is not h11.NEED_DATA:
                        return None  # ConnectionClosed: the client went away between requests
                    has_bytes = bool(conn.h11.trailing_data[0])
                    if started is None and has_bytes:
                        started = anyio.current_time()
                        if not conn.proxied:
                            conn.set_slow(True, conn.peer)
                    if started is None:
                        wait = lim.keepalive_timeout
                        reason = "keepalive_timeout"
                    else:
                        wait = started + lim.header_timeout - anyio.current_time()
                        reason = "header_timeout"
                    with anyio.move_on_after(max(wait, 0.0)) as timer:
                        await conn.read()
                    if timer.cancelled_caught:
                        self.counts[reason] += 1
                        return None
                    if started is None and not conn.proxied:
                        started = anyio.current_time()
                        conn.set_slow(True, conn.peer)
        except h11.RemoteProtocolError as exc:
            self.counts["bad_request"] += 1
            await self._error(conn, exc.error_status_hint)
            return None
        finally:
            self._waiting.discard(scope)
        return None  # cancelled: shutting down

    @staticmethod
    def _next(conn: _Conn) -> Any:
        return conn.h11.next_event()

    async def _discard_body(self, conn: _Conn) -> None:
        """Read and drop a body the app did not read (a small one, quickly), so the connection
        can carry the next request; otherwise it is closed."""
        left = 1024 * 1024
        with anyio.move_on_after(1.0):
            while left > 0:
                try:
                    event = conn.h11.next_event()
                except h11.RemoteProtocolError:
                    return
                if event is h11.NEED_DATA:
                    await conn.read()
                elif isinstance(event, h11.Data):
                    left -= len(event.data)
                else:
                    return

    async def _admit_forwarded(self, conn: _Conn, client: str, request: h11.Request) -> bool:
        """Behind a trusted proxy: the forwarded client's requests in progress are capped."""
        lim, clients = self.limits, self.clients
        reason = None
        if clients.open[client] >= lim.max_connections_per_client:
            reason = "refused_client_connections"
        elif clients.slow[client] >= lim.max_slow_per_client:
            reason = "refused_client_slow"
        if reason is None:
            return True
        self.counts[reason] += 1
        await self._error(conn, 503, keep_alive=conn.h11.their_state is h11.DONE)
        if conn.h11.their_state is not h11.DONE:
            raise _Closed  # its body is unread: the connection cannot carry another request
        return False

    async def _respond(self, conn: _Conn, request: h11.Request, client: str) -> None:
        clients = self.clients
        if conn.proxied:
            clients.add(clients.open, client, 1)
        body_done = conn.h11.their_state is h11.DONE
        conn.set_slow(not body_done, client)
        exchange = _Exchange(self, conn, request, client)
        try:
            await self.app(exchange.scope(), exchange.receive, exchange.send)
        except _Closed:
            raise
        except Exception as exc:
            self.counts["app_error"] += 1
            _log.error("alliance_monitor.http_app_error", extra={"error": type(exc).__name__})
            if not exchange.started:
                await self._error(conn, 500)
            raise _Closed from None
        finally:
            conn.set_slow(False)
            if conn.proxied:
                clients.add(clients.open, client, -1)
        if not exchange.finished:
            if not exchange.started:
                await self._error(conn, 500)
            raise _Closed

    async def _error(self, conn: _Conn, status: int, *, keep_alive: bool = False) -> None:
        """A short plain-text answer (if one can still be sent)."""
        if conn.h11.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        body = {503: b"busy, retry later\n", 431: b"request head too large\n"}.get(
            status, b"bad request\n" if status < 500 else b"internal error\n"
        )
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
        ]
        if status == 503:
            headers.append((b"retry-after", b"5"))
        if not keep_alive:
            headers.append((b"connection", b"close"))
        try:
            response = h11.Response(status_code=status, headers=headers, reason=_reason(status))
            data = conn.h11.send(response) or b""
            data += conn.h11.send(h11.Data(data=body)) or b""
            data += conn.h11.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError:
            return
        await conn.write(data)


class _Exchange:
    """One request and its answer, as ASGI `receive` and `send`."""

    def __init__(self, server: HttpServer, conn: _Conn, request: h11.Request, client: str) -> None:
        self.server = server
        self.conn = conn
        self.request = request
        self.client = client
        self.started = False
        self.finished = False
        self.head = request.method == b"HEAD"
        self._ended = anyio.Event()
        self._head_bytes = b""

    def scope(self) -> Scope:
        target = self.request.target
        if target.startswith((b"http://", b"https://")):
            rest = target.split(b"//", 1)[1]
            target = b"/" + rest.split(b"/", 1)[1] if b"/" in rest else b"/"
        raw_path, _, query = target.partition(b"?")
        host, port = self.server.local
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": self.request.http_version.decode("ascii"),
            "method": self.request.method.decode("ascii"),
            "scheme": "http",
            "path": unquote(raw_path.decode("latin-1")),
            "raw_path": raw_path,
            "query_string": query,
            "root_path": "",
            "headers": [(bytes(k), bytes(v)) for k, v in self.request.headers],
            "client": (self.client, self.conn.port if self.client == self.conn.peer else 0),
            "server": (host, port),
        }

    async def receive(self) -> MutableMapping[str, Any]:
        conn = self.conn
        if conn.h11.their_state is h11.DONE or self.finished:
            await self._ended.wait()  # nothing more to read: wait for the end of the answer
            return {"type": "http.disconnect"}
        while True:
            try:
                event = conn.h11.next_event()
            except h11.RemoteProtocolError:
                raise _Closed from None
            if event is h11.NEED_DATA:
                if conn.h11.they_are_waiting_for_100_continue:
                    await conn.write(
                        conn.h11.send(h11.InformationalResponse(status_code=100, headers=[]))
                    )
                await conn.read()
                continue
            if isinstance(event, h11.Data):
                return {"type": "http.request", "body": bytes(event.data), "more_body": True}
            if isinstance(event, h11.EndOfMessage):
                conn.set_slow(False)
                return {"type": "http.request", "body": b"", "more_body": False}
            # ConnectionClosed in the middle of the body
            self.finished = True
            self._ended.set()
            return {"type": "http.disconnect"}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        conn = self.conn
        kind = message["type"]
        if kind == "http.response.start":
            if self.started:
                raise RuntimeError("http.response.start sent twice")
            self.started = True
            headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", ())]
            if self.server._closing:
                headers.append((b"connection", b"close"))
            try:
                status = int(message["status"])
                data = conn.h11.send(
                    h11.Response(status_code=status, headers=headers, reason=_reason(status))
                )
            except h11.LocalProtocolError:
                raise _Closed from None
            self._head_bytes = data or b""  # sent with the first body chunk: one segment
        elif kind == "http.response.body":
            if not self.started or self.finished:
                raise RuntimeError("http.response.body out of order")
            body = bytes(message.get("body", b""))
            more = bool(message.get("more_body", False))
            data, self._head_bytes = self._head_bytes, b""
            try:
                if body and not self.head:
                    data += conn.h11.send(h11.Data(data=body)) or b""
                if not more:
                    data += conn.h11.send(h11.EndOfMessage()) or b""
            except h11.LocalProtocolError:
                raise _Closed from None
            await conn.write(data)
            if not more:
                self.finished = True
                self._ended.set()


def _reason(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode("ascii")
    except ValueError:
        return b""


def _head_size(request: h11.Request) -> int:
    return len(request.target) + sum(len(k) + len(v) + 4 for k, v in request.headers) + 16


def _has_body(request: h11.Request) -> bool:
    """Whether a request announces a body (else h11 ends it right after its head)."""
    for name, value in request.headers:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False


def _header(headers: Any, name: bytes) -> str | None:
    values = [bytes(v).decode("latin-1") for k, v in headers if bytes(k) == name]
    return ", ".join(values) if values else None
