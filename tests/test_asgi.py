"""`alliance_monitor.asgi`: the bounded body reader and the JSON answer that the webhook
receiver, the ratings endpoint and the erasure endpoint share."""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from typing import Any

import anyio
import pytest

from alliance_monitor import AllianceMonitorError
from alliance_monitor.asgi import BodyTooLarge, Scope, read_body, send_json


def _scope(content_length: int | None = None) -> Scope:
    headers = [(b"content-type", b"application/json")]
    if content_length is not None:
        headers.append((b"content-length", str(content_length).encode()))
    return {"type": "http", "method": "POST", "headers": headers}


class _Chunks:
    """An ASGI `receive` giving `chunks` as http.request messages, then (if asked) a disconnect;
    it records how many messages were taken."""

    def __init__(self, *chunks: bytes, disconnect_after: bool = False) -> None:
        self._messages: list[dict[str, Any]] = [
            {
                "type": "http.request",
                "body": c,
                "more_body": i < len(chunks) - 1 or disconnect_after,
            }
            for i, c in enumerate(chunks)
        ]
        if disconnect_after:
            self._messages.append({"type": "http.disconnect"})
        self.taken = 0

    async def __call__(self) -> MutableMapping[str, Any]:
        message = self._messages[self.taken]
        self.taken += 1
        return message


def _read(scope: Scope, receive: _Chunks, limit: int) -> bytes:
    async def main() -> bytes:
        return await read_body(scope, receive, limit)

    return anyio.run(main)


def test_a_chunked_body_is_joined_in_order() -> None:
    receive = _Chunks(b'{"a":', b" 1", b"}")
    assert _read(_scope(), receive, 100) == b'{"a": 1}'
    assert receive.taken == 3


def test_an_empty_body_is_empty_bytes() -> None:
    assert _read(_scope(), _Chunks(b""), 10) == b""
    assert _read(_scope(content_length=0), _Chunks(b""), 10) == b""


def test_a_body_exactly_at_the_limit_is_read() -> None:
    assert _read(_scope(content_length=10), _Chunks(b"12345", b"67890"), 10) == b"1234567890"


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    receive = _Chunks(b"x" * 11)
    with pytest.raises(BodyTooLarge) as caught:
        _read(_scope(content_length=11), receive, 10)
    assert receive.taken == 0
    assert caught.value.limit == 10
    assert isinstance(caught.value, AllianceMonitorError)
    assert "10 bytes" in str(caught.value)


def test_chunks_adding_up_past_the_limit_are_refused_at_the_chunk_that_crosses_it() -> None:
    # No content-length (chunked transfer): the reader counts what arrives.
    receive = _Chunks(b"12345", b"67890", b"1", b"never read")
    with pytest.raises(BodyTooLarge):
        _read(_scope(), receive, 10)
    assert receive.taken == 3


def test_a_content_length_that_is_not_a_number_is_not_trusted_the_chunks_are_counted() -> None:
    scope = _scope()
    scope["headers"].append((b"content-length", b"-1"))
    with pytest.raises(BodyTooLarge):
        _read(scope, _Chunks(b"x" * 11), 10)


def test_a_disconnect_ends_the_body_where_it_is() -> None:
    assert _read(_scope(), _Chunks(b"part", disconnect_after=True), 10) == b"part"


def test_send_json_answers_status_body_and_headers() -> None:
    sent: list[MutableMapping[str, Any]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    async def main() -> None:
        await send_json(send, 503, {"error": "x"}, (("retry-after", "5"),))

    anyio.run(main)
    start, body = sent
    assert start["type"] == "http.response.start" and start["status"] == 503
    payload = json.dumps({"error": "x"}).encode()
    assert start["headers"] == [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"cache-control", b"no-store"),
        (b"retry-after", b"5"),
    ]
    assert body == {"type": "http.response.body", "body": payload}
