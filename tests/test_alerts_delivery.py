"""Delivery against a real HTTP server on loopback that verifies every signature.

Each fault scenario ends with: every expected webhook id processed exactly once by the receiver
(after de-duplication on webhook-id) and a valid signature on every request it got.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterable
from email.utils import formatdate
from pathlib import Path
from typing import Any

import anyio
import pytest
from helpers import capture_logs

from alliance_monitor._events import (
    AllianceDeclined,
    Event,
    EventType,
    Feedback,
    PatternDetected,
    SafetySignal,
)
from alliance_monitor.alerts import (
    AlertDispatcher,
    AlertPolicy,
    WebhookEndpoint,
    generate_webhook_secret,
    parse_retry_after,
)
from alliance_monitor.alerts._outbox import Outbox
from alliance_monitor.alerts.testing import Delivery, LoopbackReceiver, Reply

REPO = str(Path(__file__).resolve().parent.parent)
SECRET = generate_webhook_secret()
FAST = (0, 0.05, 0.1, 0.1, 0.2, 0.2, 0.3, 0.3, 0.5, 0.5)
PLANTED = ("Zorblax Quintavious", "555-0199", "MRN-88412")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def safety(i: int, conv: str = "c1") -> SafetySignal:
    return SafetySignal(
        id=f"evt_saf{i}", conversation_id=conv, message_id=f"m{i}", category="self_harm",
        cues=("suicidal_ideation",), counselor_id="u1",
    )  # fmt: skip


FEEDBACK = Feedback(
    pattern="directive", message_ids=("m1",), dimension="bond",
    summary=f'The client wrote "I am {PLANTED[0]}, phone {PLANTED[1]}" and you moved on.',
    suggestion="Ask permission before advice.", quotes=(f"record {PLANTED[2]}",),
)  # fmt: skip


def decline(i: int) -> AllianceDeclined:
    return AllianceDeclined(
        id=f"evt_dec{i}", conversation_id=f"pair{i}", counselor_id="u1", dimension="bond",
        from_level=4.0, to_level=2.5, change=-1.5, reference="peak", windows=(1, 2),
        feedback=FEEDBACK,
    )  # fmt: skip


def events(n: int) -> list[Event]:
    return [safety(i) if i % 2 else decline(i) for i in range(n)]


def endpoint(rx: LoopbackReceiver, name: str = "rx", **kw: Any) -> WebhookEndpoint:
    return WebhookEndpoint(rx.url, [SECRET], name=name, **kw)


def assert_exactly_once(rx: LoopbackReceiver, ids: Iterable[str]) -> None:
    ids = set(ids)
    assert set(rx.processed) == ids
    assert rx.requests, "no request reached the receiver"
    assert not rx.invalid, [(d.id, d.error) for d in rx.invalid]
    for webhook_id in ids:
        accepted = [d for d in rx.attempts(webhook_id) if 200 <= d.status < 300]
        assert len([d for d in accepted if not d.duplicate]) == 1


async def submit_all(d: AlertDispatcher, evs: list[Event]) -> None:
    for ev in evs:
        result = await d.submit(ev)
        assert result.action == "queued", result


@pytest.mark.anyio
async def test_happy_path_every_format() -> None:
    async with LoopbackReceiver([SECRET]) as rx:
        eps = [endpoint(rx, "std"), endpoint(rx, "slack", format="slack")]
        async with AlertDispatcher(eps, retry_schedule=FAST, allow_private=True) as d:
            await submit_all(d, events(4))
            assert await d.drain(5)
            assert d.stats().delivered == 8
    # Same webhook id per event on both endpoints: the receiver here is shared, so it sees each
    # id twice and de-duplicates; a real deployment has one receiver per endpoint.
    assert_exactly_once(rx, {ev.id for ev in events(4)})
    assert len(rx.requests) == 8 and rx.duplicates == 4


@pytest.mark.anyio
async def test_endpoint_down_then_back_up() -> None:
    async with LoopbackReceiver([SECRET]) as rx:
        await rx.stop()  # connection refused from now on
        async with AlertDispatcher([endpoint(rx)], retry_schedule=FAST, allow_private=True) as d:
            await submit_all(d, events(6))
            await anyio.sleep(0.4)
            stats = d.stats()
            assert stats.delivered == 0 and stats.pending == 6 and stats.retries >= 6
            await rx.start()  # same port
            assert await d.drain(10)
            assert d.stats().delivered == 6 and d.stats().failed == 0
    assert_exactly_once(rx, {ev.id for ev in events(6)})


@pytest.mark.anyio
async def test_500s_are_retried() -> None:
    def flaky(delivery: Delivery) -> Reply:
        return Reply(500) if delivery.attempt <= 2 else Reply(200)

    async with (
        LoopbackReceiver([SECRET], behaviour=flaky) as rx,
        AlertDispatcher([endpoint(rx)], retry_schedule=FAST, allow_private=True) as d,
    ):
        await submit_all(d, events(5))
        assert await d.drain(10)
        stats = d.stats()
        assert stats.delivered == 5 and stats.retries == 10 and stats.attempts == 15
    assert_exactly_once(rx, {ev.id for ev in events(5)})
    assert all(len(rx.attempts(ev.id)) == 3 for ev in events(5))


@pytest.mark.anyio
async def test_429_retry_after_is_honoured() -> None:
    def limited(delivery: Delivery) -> Reply:
        return Reply(429, {"Retry-After": "1"}) if delivery.attempt == 1 else Reply(204)

    async with (
        LoopbackReceiver([SECRET], behaviour=limited) as rx,
        AlertDispatcher([endpoint(rx)], retry_schedule=(0, 0.01, 0.01), allow_private=True) as d,
    ):
        await submit_all(d, events(3))
        assert await d.drain(10)
    assert_exactly_once(rx, {ev.id for ev in events(3)})
    for ev in events(3):
        first, second = rx.attempts(ev.id)
        assert first.status == 429
        assert second.at - first.at >= 0.95  # the schedule alone would retry after 10 ms


def test_retry_after_parsing() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after(formatdate(now + 30, usegmt=True), now) == pytest.approx(30, abs=1)
    assert parse_retry_after(formatdate(now - 30, usegmt=True), now) == 0.0
    assert parse_retry_after("999999999", now) == 86400.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


@pytest.mark.anyio
async def test_410_disables_the_endpoint_loudly_and_parks_its_alerts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gone_mode = {"gone": True}

    def gone(delivery: Delivery) -> Reply:
        return Reply(410) if gone_mode["gone"] else Reply(204)

    async with (
        LoopbackReceiver([SECRET], behaviour=gone) as rx_gone,
        LoopbackReceiver([SECRET]) as rx_ok,
    ):
        eps = [endpoint(rx_gone, "gone"), endpoint(rx_ok, "ok")]
        # One in flight per endpoint, so the 410 is seen before the rest is attempted.
        with capture_logs(caplog) as logs:
            async with AlertDispatcher(
                eps, retry_schedule=FAST, max_in_flight_per_endpoint=1, allow_private=True
            ) as d:
                await submit_all(d, events(4))
                assert await d.drain(10)  # disabled rows are not waited for
                # A row the 410 found pending is parked by the delivery loop, which a shared
                # (Redis) outbox may do just after drain() returns: give it a moment.
                for _ in range(100):
                    if d.stats().disabled == 4:
                        break
                    await anyio.sleep(0.05)
                stats = d.stats()
                assert stats.disabled_endpoints == ("gone",)
                assert stats.disabled == 4 and stats.delivered == 4
                assert (await d.submit(safety(99))).action == "queued"  # parked for "gone"
                assert d.stats().disabled == 5
                gone_mode["gone"] = False
                assert d.enable_endpoint("gone") == 5
                assert await d.drain(10)
                assert d.stats().delivered == 10
        assert len(rx_gone.requests) == 1 + 5  # one 410, then the re-queued five
    disabled = [e for e in logs if e["event"] == "alliance_monitor.webhook_endpoint_disabled"]
    assert len(disabled) == 1
    assert disabled[0]["log_level"] == "error" and disabled[0]["endpoint"] == "gone"
    ids = {ev.id for ev in events(4)} | {"evt_saf99"}
    assert_exactly_once(rx_ok, ids)
    assert_exactly_once(rx_gone, ids)


@pytest.mark.anyio
async def test_slow_receiver_times_out_and_never_stalls_submit() -> None:
    def slow_first(delivery: Delivery) -> Reply:
        # Processes the alert, then answers too late: the sender retries, the receiver
        # sees a duplicate and de-duplicates it.
        return Reply(204, delay=2.0) if delivery.attempt == 1 else Reply(204)

    async with (
        LoopbackReceiver([SECRET], behaviour=slow_first) as slow,
        LoopbackReceiver([SECRET]) as fast,
    ):
        eps = [endpoint(slow, "slow"), endpoint(fast, "fast")]
        async with AlertDispatcher(eps, retry_schedule=FAST, timeout=0.3, allow_private=True) as d:
            worst = 0.0
            for ev in events(6):
                start = time.perf_counter()
                await d.submit(ev)
                worst = max(worst, time.perf_counter() - start)
            assert worst < 0.05  # submit never waits on the network
            # The fast endpoint is not held up by the slow one.
            assert await fast.wait_for({ev.id for ev in events(6)}, timeout=1.0)
            assert await d.drain(10)
            assert d.stats().retries >= 6
    assert_exactly_once(slow, {ev.id for ev in events(6)})
    assert slow.duplicates >= 1
    assert_exactly_once(fast, {ev.id for ev in events(6)})


@pytest.mark.anyio
async def test_exhausted_retries_are_kept_as_failed_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    always_down = {"on": True}

    def broken(delivery: Delivery) -> Reply:
        return Reply(503) if always_down["on"] else Reply(204)

    async with LoopbackReceiver([SECRET], behaviour=broken) as rx:
        with capture_logs(caplog) as logs:
            async with AlertDispatcher(
                [endpoint(rx)], retry_schedule=(0, 0.01, 0.01), allow_private=True
            ) as d:
                await submit_all(d, events(3))
                assert await d.drain(5)  # nothing pending any more...
                stats = d.stats()
                assert stats.failed == 3 and stats.failed_by_endpoint == {"rx": 3}
                failed = d.failed_alerts()
                assert {f["last_error"] for f in failed} == {"http_503"}
                assert {f["attempts"] for f in failed} == {3}
                always_down["on"] = False
                assert d.requeue_failed() == 3  # a manual retry
                assert await d.drain(5)
                assert d.stats().failed == 0 and d.stats().delivered == 3
    assert sum(e["event"] == "alliance_monitor.alert_delivery_failed" for e in logs) == 3
    assert_exactly_once(rx, {ev.id for ev in events(3)})


@pytest.mark.anyio
async def test_restart_with_alerts_pending(tmp_path: Path) -> None:
    db = str(tmp_path / "outbox.db")
    evs = events(6)
    async with LoopbackReceiver([SECRET]) as rx:
        await rx.stop()
        async with AlertDispatcher(
            [endpoint(rx)], outbox_path=db, retry_schedule=FAST, allow_private=True
        ) as d:
            await submit_all(d, evs)
            await anyio.sleep(0.2)
            assert d.stats().pending == 6
        # "Process restart": a new dispatcher on the same outbox file.
        await rx.start()
        async with AlertDispatcher(
            [endpoint(rx)], outbox_path=db, retry_schedule=FAST, allow_private=True
        ) as d:
            assert await d.drain(10)
            assert d.stats().delivered == 6
            # The monitor replays the same events after restart: no second page.
            for ev in evs:
                assert (await d.submit(ev)).reason == "duplicate"
    assert_exactly_once(rx, {ev.id for ev in evs})
    assert len(rx.requests) == 6


_CHILD = textwrap.dedent(
    """
    import sys, anyio
    from alliance_monitor._events import SafetySignal
    from alliance_monitor.alerts import AlertDispatcher, WebhookEndpoint

    url, secret, db, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

    async def main():
        ep = WebhookEndpoint(url, [secret], name="rx")
        # Short delays only: on a busy machine the child may fail an attempt or two against the
        # stopped receiver before the kill, and the delay it stores is honoured after the restart.
        async with AlertDispatcher([ep], outbox_path=db, retry_schedule=(0,) + (0.05,) * 50, allow_private=True) as d:
            for i in range(n):
                await d.submit(SafetySignal(id=f"evt_k{i}", conversation_id=f"c{i}",
                                            message_id=f"m{i}", category="self_harm"))
            print("READY", flush=True)
            await anyio.sleep(60)

    anyio.run(main)
    """
)


@pytest.mark.anyio
async def test_alerts_survive_sigkill(tmp_path: Path) -> None:
    db = str(tmp_path / "outbox.db")
    n = 8
    async with LoopbackReceiver([SECRET]) as rx:
        await rx.stop()
        env = {**os.environ, "PYTHONPATH": REPO}
        async with await anyio.open_process(
            [sys.executable, "-c", _CHILD, rx.url, SECRET, db, str(n)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
        ) as child:  # fmt: skip
            assert child.stdout is not None
            seen = b""
            with anyio.fail_after(30):
                async for chunk in child.stdout:  # log lines, then READY once committed
                    seen += chunk
                    if b"READY" in seen:
                        break
            assert b"READY" in seen, "child exited early"
            child.send_signal(signal.SIGKILL)  # no shutdown, no flush: a crash
            assert await child.wait() == -signal.SIGKILL
        outbox = Outbox(db)
        assert outbox.integrity_ok() and outbox.counts() == {"pending": n}
        outbox.close()
        await rx.start()
        ep = WebhookEndpoint(rx.url, [SECRET], name="rx")
        async with AlertDispatcher(
            [ep], outbox_path=db, retry_schedule=FAST, allow_private=True
        ) as d:
            assert await d.drain(10)
    assert_exactly_once(rx, {f"evt_k{i}" for i in range(n)})


@pytest.mark.anyio
async def test_no_planted_identifier_in_payloads_or_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def flaky(delivery: Delivery) -> Reply:
        return Reply(500) if delivery.attempt == 1 else Reply(204)

    async with LoopbackReceiver([SECRET], behaviour=flaky) as rx:
        eps = [endpoint(rx, "std"), endpoint(rx, "teams", format="teams")]
        with capture_logs(caplog) as logs:
            async with AlertDispatcher(eps, retry_schedule=FAST, allow_private=True) as d:
                await submit_all(d, [decline(i) for i in range(3)])
                pattern = PatternDetected(
                    id="evt_p", conversation_id="c9", type=EventType.PASSIVE_PATTERN,
                    pattern="passive", window_index=1, rate=0.5, message_ids=("m1",),
                    feedback=FEEDBACK,
                )  # fmt: skip
                await submit_all(d, [pattern])
                assert await d.drain(10)
    assert logs, "expected delivery logs"
    haystacks = [str(logs)] + [d.body.decode() for d in rx.requests]
    for planted in PLANTED:
        for hay in haystacks:
            assert planted not in hay


@pytest.mark.anyio
async def test_include_text_puts_quotes_in_payloads() -> None:
    async with (
        LoopbackReceiver([SECRET]) as rx,
        AlertDispatcher([endpoint(rx)], include_text=True, allow_private=True) as d,
    ):
        await submit_all(d, [decline(0)])
        assert await d.drain(5)
    assert PLANTED[2] in rx.requests[0].body.decode()


@pytest.mark.anyio
async def test_digest_survives_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "outbox.db")
    policy = AlertPolicy(digest_interval=3600, cooldown=0)
    pats = [
        PatternDetected(
            id=f"evt_p{i}", conversation_id=f"c{i}", type=EventType.PASSIVE_PATTERN,
            pattern="passive", window_index=1, rate=0.5, message_ids=("m1",),
            feedback=FEEDBACK,
        )
        for i in range(3)
    ]  # fmt: skip
    async with LoopbackReceiver([SECRET]) as rx:
        async with AlertDispatcher(
            [endpoint(rx)], outbox_path=db, policy=policy, allow_private=True
        ) as d:
            for p in pats:
                assert (await d.submit(p)).action == "held"
        async with AlertDispatcher(
            [endpoint(rx)], outbox_path=db, policy=policy, allow_private=True
        ) as d:
            assert d.stats().held == 3
            assert await d.drain(5)
    assert len(rx.processed) == 1
    (digest,) = rx.processed.values()
    assert digest.id is not None and digest.id.startswith("dig_")
    assert b'"count":3' in digest.body


@pytest.mark.anyio
async def test_submit_does_not_hold_the_event_loop_during_the_outbox_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Outbox.insert_threadsafe

    def slow_disk(self: Outbox, *args: Any, **kw: Any) -> int:
        time.sleep(0.3)  # a slow fsync, in the worker thread
        return real(self, *args, **kw)

    monkeypatch.setattr(Outbox, "insert_threadsafe", slow_disk)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await anyio.sleep(0.01)
            ticks += 1

    async with (
        LoopbackReceiver([SECRET]) as rx,
        AlertDispatcher(
            [endpoint(rx)],
            retry_schedule=FAST,
            allow_private=True,
            outbox_path=str(tmp_path / "o.db"),
        ) as d,
    ):
        async with anyio.create_task_group() as tg:
            tg.start_soon(ticker)
            started = time.perf_counter()
            await submit_all(d, events(2))
            took = time.perf_counter() - started
            tg.cancel_scope.cancel()
        assert await d.drain(5)
    assert took >= 0.6
    assert ticks >= 20  # the loop kept running while the disk was slow
    assert_exactly_once(rx, {ev.id for ev in events(2)})


@pytest.mark.anyio
async def test_digest_and_endpoint_disable_writes_run_off_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    loop_thread = threading.get_ident()
    writes: list[tuple[str, bool]] = []
    for name in ("add_digest_threadsafe", "disable_endpoint_threadsafe"):
        real = getattr(Outbox, name)

        def slow(self: Outbox, *args: Any, _real: Any = real, _name: str = name) -> Any:
            writes.append((_name, threading.get_ident() != loop_thread))
            time.sleep(0.3)  # a slow fsync, in the worker thread
            return _real(self, *args)

        monkeypatch.setattr(Outbox, name, slow)
    for name in ("add_digest", "disable_endpoint"):  # the loop's own connection: not used
        monkeypatch.setattr(Outbox, name, lambda *a, **k: pytest.fail("written on the loop"))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await anyio.sleep(0.01)
            ticks += 1

    pats = [
        PatternDetected(
            id=f"evt_q{i}", conversation_id=f"c{i}", type=EventType.PASSIVE_PATTERN,
            pattern="passive", window_index=1, rate=0.5, message_ids=("m1",),
            feedback=FEEDBACK,
        )
        for i in range(2)
    ]  # fmt: skip
    async with (
        LoopbackReceiver([SECRET], behaviour=lambda _: Reply(410)) as rx,
        AlertDispatcher(
            [endpoint(rx)],
            outbox_path=str(tmp_path / "o.db"),
            retry_schedule=FAST,
            policy=AlertPolicy(digest_interval=3600, cooldown=0),
            allow_private=True,
        ) as d,
    ):
        for p in pats:
            assert (await d.submit(p)).action == "held"
        async with anyio.create_task_group() as tg:
            tg.start_soon(ticker)
            await d.drain(5)  # flushes the digest, whose delivery gets 410 Gone
            with anyio.fail_after(5):
                while d.stats().disabled_endpoints != ("rx",) or len(writes) < 2:
                    await anyio.sleep(0.01)
            tg.cancel_scope.cancel()
    assert writes == [("add_digest_threadsafe", True), ("disable_endpoint_threadsafe", True)]
    assert ticks >= 20  # the loop kept running through both slow writes
