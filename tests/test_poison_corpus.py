"""The poison corpus: every payload of issue 11 plus a hypothesis-fuzzed stream, through
`Monitor.ingest` (with the SQLite store), through each push adapter's `handle`, and through the
CLI readers. The one rule: every input is accepted, or rejected with a reason and counted (or
the caller is told the service is unhealthy: covered in test_poison_serve.py); and an ordinary
exchange afterwards is still accepted and scored.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alliance_monitor import Monitor, WindowPolicy
from alliance_monitor._errors import RejectReason
from alliance_monitor._events import WindowScored
from alliance_monitor._io import iter_lines, read_input
from alliance_monitor.adapters import (
    HttpAdapter,
    SlackAdapter,
    SunshineConversationsAdapter,
    TwilioConversationsAdapter,
)
from alliance_monitor.adapters._base import PushAdapter, Request
from alliance_monitor.adapters.http import sign_webhook
from alliance_monitor.adapters.jsonl import parse_line
from alliance_monitor.adapters.slack import sign_slack
from alliance_monitor.adapters.twilio import sign_twilio
from alliance_monitor.cli import _replay_messages
from alliance_monitor.store import SQLiteStore
from alliance_monitor.testing import EventCollector, StaticScorer

SECRET = "whsec_" + "cG9pc29uLXRlc3Qtc2VjcmV0LWZvci1lZGdlcy0xMjM0"
SLACK = "poison-slack-secret"
TWILIO = "poison-twilio-token"
ZENDESK = "poison-zendesk-key"
REASONS = set(RejectReason)

BIG = 10**400
POISON_VALUES: list[Any] = [
    BIG,
    -BIG,
    2**64,
    float("nan"),
    float("inf"),
    float("-inf"),
    1e308,
    -1.0,
    True,
    None,
    "",
    " ",
    "\x00",
    "\u200b\u200b",
    "\udc00",
    "pair-\udc00",
    "\ud800x",
    "\udcff\udcfe",
    "a" * 10_000,
    "\u202e\u2066rtl",
    "line\nbreak",
    [],
    {},
    [1, [2, [3]]],
    {"k": "\udc00"},
    {"deep": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]},
]
ROLES = ["client", "counselor", "other", "Counselor", "admin", "", "\udc00"]
FIELDS = [
    "conversation_id",
    "id",
    "role",
    "text",
    "ts",
    "seq",
    "metadata",
    "counselor_id",
    "client_id",
    "session_id",
    "lang",
    "x",
]


def valid(i: int, conv: str = "fuzz-pair") -> dict[str, Any]:
    return {
        "conversation_id": conv,
        "id": f"v{i}",
        "role": "counselor" if i % 2 == 0 else "client",
        "text": f"an ordinary message {i}",
        "ts": 1000.0 + i,
    }


# The payloads of issue 11, as messages.
ISSUE_PAYLOADS: list[Any] = [
    {**valid(0, "pair-a"), "seq": int("1" + "0" * 400)},
    {**valid(1, "pair-\udc00")},
    {**valid(2, "pair-b"), "metadata": {"note": "\udc00"}},
    {**valid(3, "pair-b"), "id": "m-\udcff"},  # a raw 0xFF byte read with surrogateescape
    {**valid(4, "pair-c"), "ts": int("9" * 400)},
    {**valid(5, "pair-c"), "ts": float("nan")},
    {**valid(6, "pair-c"), "ts": float("inf")},
    {**valid(7, "pair-c"), "seq": float("nan")},
    {**valid(8, "pair-c"), "text": "\ud800 lone"},
    {**valid(9, "pair-c"), "text": "x" * 1_100_000},  # 1 MB+: taken (truncated for scoring)
    {**valid(10, "pair-c"), "text": "\u200b\u200d\ufeff"},  # nothing left after sanitising
    {**valid(11, "pair-c"), "metadata": {"a": {"b": {"c": {"d": {"e": {"f": "g" * 100_000}}}}}}},
    ["not", "an", "object"],
    "a string",
    42,
    None,
]

value = st.one_of(
    st.sampled_from(POISON_VALUES),
    st.integers(),
    st.floats(),
    st.text(max_size=40),
    st.text(st.characters(codec="utf-8"), max_size=10),
    st.binary(max_size=20).map(lambda b: b.decode("utf-8", "surrogateescape")),
)
message = st.one_of(
    st.builds(
        lambda i, patch: {**valid(i), **patch},
        st.integers(0, 50),
        st.dictionaries(st.sampled_from(FIELDS), value, max_size=3),
    ),
    st.builds(lambda i, r: {**valid(i), "role": r}, st.integers(0, 50), st.sampled_from(ROLES)),
    st.dictionaries(st.sampled_from(FIELDS), value, max_size=6),
    st.sampled_from(ISSUE_PAYLOADS),
)
FUZZ = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


async def _stream(messages: list[Any], folder: Path) -> None:
    """Ingest `messages`, then an ordinary exchange; check the one rule and the scoring."""
    events = EventCollector()
    async with Monitor(
        scorer=StaticScorer(),
        idle_check_interval=None,
        window=WindowPolicy(max_exchanges=1),
        store=SQLiteStore(folder / "state.db"),
    ) as monitor:
        monitor.on(events)
        outcomes: Counter[str] = Counter()
        for m in messages:
            result = await monitor.ingest(m)  # never raises: that is the contract
            outcomes[result.status] += 1
            if result.status == "rejected":
                assert result.reason in REASONS
            else:
                assert result.reason is None
        for i in range(4):
            result = await monitor.ingest(valid(i, "after-pair"))
            assert result.status == "accepted", result
        await monitor.end_all_sessions()
        await monitor.flush()
        st_ = monitor.stats()
    n = len(messages) + 4
    assert sum(outcomes.values()) + 4 == n
    rejected = sum(st_.get("rejected_by_reason", {}).values())
    assert st_["messages_in"] == n
    assert st_["accepted"] + st_.get("duplicates", 0) + rejected == n
    assert rejected == outcomes["rejected"]
    assert any(
        isinstance(e, WindowScored) and e.conversation_id == "after-pair" for e in events.events
    )


def test_issue_payloads_through_monitor_ingest(tmp_path: Path) -> None:
    anyio.run(_stream, ISSUE_PAYLOADS, tmp_path)


@FUZZ
@given(st.lists(message, min_size=1, max_size=12))
def test_fuzzed_stream_through_monitor_ingest(messages: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as d:
        anyio.run(_stream, messages, Path(d))


# ---------------------------------------------------------------------- adapters' handle
def _json(obj: Any) -> bytes:
    return json.dumps(obj, allow_nan=True).encode("utf-8", "surrogatepass")


def _http(body: bytes, now: float) -> Request:
    wid = "msg_fuzz"
    return Request(
        "POST",
        "http://x/hooks",
        {
            "content-type": "application/json",
            "webhook-id": wid,
            "webhook-timestamp": str(int(now)),
            "webhook-signature": sign_webhook([SECRET], wid, int(now), body),
        },
        body,
    )


def _slack(body: bytes, now: float) -> Request:
    return Request(
        "POST",
        "http://x/slack",
        {
            "content-type": "application/json",
            "x-slack-request-timestamp": str(int(now)),
            "x-slack-signature": sign_slack(SLACK, int(now), body),
        },
        body,
    )


def _twilio(body: bytes, now: float) -> Request:
    from urllib.parse import parse_qsl

    try:
        params = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        sig = sign_twilio(TWILIO, "http://x/twilio", params)
    except (UnicodeError, ValueError):
        sig = "invalid"
    return Request(
        "POST",
        "http://x/twilio",
        {"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": sig},
        body,
    )


def _zendesk(body: bytes, now: float) -> Request:
    return Request(
        "POST", "http://x/zendesk", {"content-type": "application/json", "x-api-key": ZENDESK}, body
    )


def _slack_event(m: Any) -> Any:
    if not isinstance(m, Mapping):
        return m
    return {
        "type": "event_callback",
        "event_id": "Ev1",
        "event": {
            "type": "message",
            "channel": m.get("conversation_id"),
            "user": m.get("role"),
            "text": m.get("text"),
            "ts": str(m.get("ts")),
            "thread_ts": m.get("seq"),
        },
    }


def _twilio_form(m: Any) -> bytes:
    if not isinstance(m, Mapping):
        return json.dumps(m, default=str).encode()
    params = {
        "EventType": "onMessageAdded",
        "ConversationSid": m.get("conversation_id"),
        "MessageSid": m.get("id"),
        "Author": m.get("role"),
        "Body": m.get("text"),
        "DateCreated": m.get("ts"),
        "Index": m.get("seq"),
    }
    return urlencode({k: str(v) for k, v in params.items()}, errors="surrogatepass").encode()


def _zendesk_event(m: Any) -> Any:
    if not isinstance(m, Mapping):
        return m
    return {
        "events": [
            {
                "id": "e1",
                "type": "conversation:message",
                "payload": {
                    "conversation": {"id": m.get("conversation_id")},
                    "message": {
                        "id": m.get("id"),
                        "received": m.get("ts"),
                        "author": {"type": m.get("role")},
                        "content": {"type": "text", "text": m.get("text")},
                    },
                },
            }
        ]
    }


ADAPTERS: list[tuple[PushAdapter, Any, Any]] = [
    (HttpAdapter(SECRET), _http, lambda m: _json({"messages": [m]})),
    (SlackAdapter(SLACK), _slack, lambda m: _json(_slack_event(m))),
    (TwilioConversationsAdapter(TWILIO, public_url="http://x/twilio"), _twilio, _twilio_form),
    (SunshineConversationsAdapter(ZENDESK), _zendesk, lambda m: _json(_zendesk_event(m))),
]
RAW_BODIES = [
    b"",
    b"{",
    b"\xff\xfe\x00",
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a": ' * 3000,
    b"null",
    b"1" + b"0" * 5000,
    b"NaN",
    b'"\\udc00"',
    b"a=%FF%FE&b=\xff",
]


def _check_delivery(adapter: PushAdapter, request: Request) -> list[Mapping[str, Any]]:
    delivery = adapter.handle(request, time.time())  # never raises
    assert 200 <= delivery.ack.status < 500, (adapter.name, delivery.ack.status)
    for reason in delivery.rejected:
        assert reason in REASONS
    if delivery.problem is not None:
        assert delivery.ack.status >= 400
    return list(delivery.messages)


async def _through_adapters(items: list[Any], folder: Path) -> None:
    taken: list[Mapping[str, Any]] = []
    now = time.time()
    for adapter, sign, encode in ADAPTERS:
        for item in items:
            try:
                body = encode(item)
            except (UnicodeError, ValueError, TypeError):
                continue  # not encodable by a platform at all
            taken += _check_delivery(adapter, sign(body, now))
        for raw in RAW_BODIES:
            taken += _check_delivery(adapter, sign(raw, now))
    await _stream(taken, folder)


def test_issue_payloads_through_each_adapter(tmp_path: Path) -> None:
    anyio.run(_through_adapters, ISSUE_PAYLOADS, tmp_path)


@FUZZ
@given(st.lists(message, min_size=1, max_size=6))
def test_fuzzed_bodies_through_each_adapter(items: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as d:
        anyio.run(_through_adapters, items, Path(d))


@FUZZ
@given(st.binary(max_size=300))
def test_fuzzed_bytes_through_each_adapter(raw: bytes) -> None:
    now = time.time()
    for adapter, sign, _encode in ADAPTERS:
        _check_delivery(adapter, sign(raw, now))


# ---------------------------------------------------------------------- CLI readers
def _line(item: Any) -> str:
    if isinstance(item, str) and item.startswith("RAW:"):
        return item[4:]
    return json.dumps(item, allow_nan=True)


RAW_LINES = [
    "RAW:" + "[" * 100_000 + "]" * 100_000,
    "RAW:{",
    "RAW:not json",
    'RAW:{"ts": 1' + "0" * 400 + "}",
    "RAW:NaN",
    'RAW:{"a": 1e400}',
]


@FUZZ
@given(
    st.lists(
        st.one_of(
            message,
            st.sampled_from(RAW_LINES),
            st.builds(
                lambda ms: {"conversation_id": "t", "messages": ms}, st.lists(message, max_size=4)
            ),
        ),
        min_size=1,
        max_size=10,
    ),
    st.binary(max_size=60),
)
def test_fuzzed_files_through_the_cli_readers(items: list[Any], junk: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "in.jsonl"
        lines = [_line(i) for i in items]
        with path.open("wb") as f:
            for ln in lines:
                f.write(ln.encode("utf-8", "surrogatepass").replace(b"\n", b" ") + b"\n")
            f.write(junk.replace(b"\n", b" ") + b"\n")
            f.write(json.dumps(valid(0, "last-line")).encode() + b"\n")
        n_lines = len(lines) + 2
        parsed = list(iter_lines(str(path)))  # never raises
        assert len(parsed) <= n_lines
        transcripts, singles, rejects = read_input(str(path))
        for r in rejects:
            assert r.reason in REASONS and 1 <= r.line <= n_lines
        used = {t.line for t in transcripts} | {n for n, _ in singles} | {r.line for r in rejects}
        assert used >= {n for n, _ in parsed}  # every line used or rejected with a reason
        assert any(
            isinstance(o, dict) and o.get("conversation_id") == "last-line" for _, o in singles
        )  # the file went on to the end
        replay_rejects: list[Any] = []
        messages = _replay_messages(str(path), replay_rejects)  # never raises
        anyio.run(_stream, messages, Path(d))
        # The JSONL pull adapter reads lines the same way.
        for ln in path.read_bytes().decode("utf-8", "surrogateescape").splitlines():
            for got in parse_line(ln):
                assert isinstance(got, Mapping) or got in REASONS


@pytest.mark.parametrize("line", [r[4:] for r in RAW_LINES])
def test_raw_lines_are_rejected_with_a_reason(line: str, tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(line + "\n" + json.dumps(valid(0)) + "\n")
    _transcripts, singles, rejects = read_input(str(path))
    assert [r.line for r in rejects] == [1]
    assert rejects[0].reason in {
        RejectReason.INVALID_JSON,
        RejectReason.RECURSION_DEPTH,
        RejectReason.NUMBER_RANGE,
    }
    assert [n for n, _ in singles] == [2]
