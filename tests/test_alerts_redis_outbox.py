"""The alert outbox in Redis, shared by scale-out workers (real redis-server, real receivers).

The SQLite outbox's delivery and policy tests run again with every dispatcher on a `RedisOutbox`
(same behaviour), then what sharing adds: two dispatchers on one outbox write and deliver each
alert once, share cooldowns, digests and a 410; a dispatcher killed with kill -9 while its
requests are on the wire leaves its claims to expire and another delivers them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import test_alerts_delivery as delivery
import test_alerts_policy as policy
from redis_helpers import redis_url, unique_prefix
from test_alerts_delivery import SECRET, assert_exactly_once, endpoint, events, safety

from alliance_monitor._events import Severity
from alliance_monitor.alerts import AlertDispatcher, AlertPolicy, RedisOutbox
from alliance_monitor.alerts.testing import Delivery, LoopbackReceiver, Reply

REPO = str(Path(__file__).resolve().parent.parent)
FAST = delivery.FAST


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def prefix() -> Iterator[str]:
    url, p = redis_url(), unique_prefix("outbox")
    yield p
    RedisOutbox(url, prefix=p).clear()


def outbox(prefix: str, **kw: Any) -> RedisOutbox:
    return RedisOutbox(redis_url(), prefix=prefix, **kw)


@pytest.fixture
def on_redis(monkeypatch: pytest.MonkeyPatch, prefix: str) -> None:
    """Every dispatcher made without an outbox file gets the (one) Redis outbox instead."""
    init = AlertDispatcher.__init__

    def with_redis(self: AlertDispatcher, endpoints: Any, **kw: Any) -> None:
        if kw.get("outbox_path") is None and kw.get("outbox") is None:
            kw["outbox"] = outbox(prefix)
        init(self, endpoints, **kw)

    monkeypatch.setattr(AlertDispatcher, "__init__", with_redis)


PARITY: list[Callable[[], Awaitable[None]]] = [
    delivery.test_happy_path_every_format,
    delivery.test_endpoint_down_then_back_up,
    delivery.test_500s_are_retried,
    delivery.test_429_retry_after_is_honoured,
    delivery.test_slow_receiver_times_out_and_never_stalls_submit,
    delivery.test_include_text_puts_quotes_in_payloads,
    policy.test_window_scored_does_not_alert_by_default_and_is_counted,
    policy.test_cooldown_per_pair_and_type_with_escalation_and_safety_bypass,
    policy.test_min_severity_and_endpoint_filters,
    policy.test_digest_batches_low_severity_but_never_safety,
    policy.test_digest_is_flushed_after_its_interval,
]


@pytest.mark.anyio
@pytest.mark.parametrize("case", PARITY, ids=[c.__name__ for c in PARITY])
async def test_the_sqlite_outbox_cases_on_redis(
    case: Callable[[], Awaitable[None]], on_redis: None
) -> None:
    await case()


@pytest.mark.anyio
async def test_410_and_exhausted_retries_on_redis(
    on_redis: None, caplog: pytest.LogCaptureFixture
) -> None:
    await delivery.test_410_disables_the_endpoint_loudly_and_parks_its_alerts(caplog)


@pytest.mark.anyio
async def test_exhausted_retries_on_redis(on_redis: None, caplog: pytest.LogCaptureFixture) -> None:
    await delivery.test_exhausted_retries_are_kept_as_failed_and_counted(caplog)


# ---------------------------------------------------------------------- shared by workers
@pytest.mark.anyio
async def test_two_workers_alert_once_for_the_same_events(prefix: str) -> None:
    """Both emit every event (as a worker and the pair's next holder do after a crash): each
    alert is written once and delivered once, whichever worker claims it."""
    evs = events(20)
    async with LoopbackReceiver([SECRET]) as rx:
        a = AlertDispatcher([endpoint(rx)], outbox=outbox(prefix), retry_schedule=FAST,
                            allow_private=True)  # fmt: skip
        b = AlertDispatcher([endpoint(rx)], outbox=outbox(prefix), retry_schedule=FAST,
                            allow_private=True)  # fmt: skip
        async with a, b:
            results = [await d.submit(ev) for ev in evs for d in (a, b)]
            assert sum(r.action == "queued" for r in results) == 20
            assert sum(r.reason == "duplicate" for r in results) == 20
            assert await a.drain(10) and await b.drain(10)
            assert a.stats().delivered == 20  # the outbox's state, whoever delivered
            assert a.stats().attempts + b.stats().attempts == 20
    assert_exactly_once(rx, {ev.id for ev in evs})
    assert len(rx.requests) == 20  # no request twice: claims split the work


@pytest.mark.anyio
async def test_cooldowns_digests_and_410_are_shared(prefix: str) -> None:
    sink = policy.Sink()
    pol = AlertPolicy(cooldown=3600, digest_interval=3600, digest_max_severity=Severity.LOW)

    def make() -> AlertDispatcher:
        return policy.dispatcher(sink, policy=pol, outbox=outbox(prefix))

    async with make() as a, make() as b:
        assert (await a.submit(policy.decline_event(0))).action == "queued"
        # Another worker, the same pair and type within the cooldown: suppressed.
        assert (await b.submit(policy.decline_event(1))).reason == "cooldown"
        for i in range(6):
            d = (a, b)[i % 2]
            assert (await d.submit(policy.pattern_event(i, conv=f"c{i}"))).action == "held"
        # Both flush at once: every held alert goes in exactly one digest.
        async with anyio.create_task_group() as tg:
            for d in (a, b):
                tg.start_soon(lambda d=d: d._flush_digests(time.time(), force=True))
        assert await a.drain(5) and await b.drain(5)
    digests = [json.loads(x) for x in sink.bodies if b'"digest"' in x]
    items = [i["id"] for d in digests for i in d["data"]["items"]]
    assert sorted(items) == [f"evt_pat{i}" for i in range(6)]


@pytest.mark.anyio
async def test_a_410_seen_by_one_worker_disables_the_endpoint_for_all(prefix: str) -> None:
    async with LoopbackReceiver([SECRET], behaviour=lambda d: Reply(410)) as rx:
        a = AlertDispatcher([endpoint(rx)], outbox=outbox(prefix), retry_schedule=FAST,
                            allow_private=True)  # fmt: skip
        b = AlertDispatcher([endpoint(rx)], outbox=outbox(prefix), retry_schedule=FAST,
                            allow_private=True)  # fmt: skip
        async with a, b:
            await a.submit(safety(1))
            with anyio.fail_after(5):
                while "rx" not in a.stats().disabled_endpoints:
                    await anyio.sleep(0.05)
            b._wake.set()
            with anyio.fail_after(5):
                while "rx" not in b.stats().disabled_endpoints:
                    await anyio.sleep(0.05)
                    b._wake.set()
            assert (await b.submit(safety(2))).action == "queued"
            await anyio.sleep(0.3)
            assert b.stats().disabled == 2
    assert len(rx.requests) == 1


@pytest.mark.anyio
async def test_erasure_removes_the_pairs_alerts_from_redis(prefix: str) -> None:
    async with LoopbackReceiver([SECRET]) as rx:
        ob = outbox(prefix)
        async with AlertDispatcher([endpoint(rx)], outbox=ob, retry_schedule=FAST,
                                   allow_private=True) as d:  # fmt: skip
            for conv in ("gone", "kept"):
                for i in range(3):
                    await d.submit(safety(i + (10 if conv == "kept" else 0), conv=conv))
            assert await d.drain(5)
            out = d.erase("gone")
            assert out["outbox.alerts"] == 3
            assert d.stats().delivered == 3
    import redis

    r = redis.Redis.from_url(redis_url())
    dump = b""
    for key in r.scan_iter(match=prefix + "*"):
        dump += key
        if r.type(key) == b"hash":
            dump += b"".join(k + v for k, v in r.hgetall(key).items())
        elif r.type(key) == b"set":
            dump += b"".join(r.smembers(key))
        elif r.type(key) == b"zset":
            dump += b"".join(r.zrange(key, 0, -1))
    r.close()
    assert b"gone" not in dump and b"kept" in dump


_CHILD = textwrap.dedent(
    """
    import sys, anyio
    from alliance_monitor._events import SafetySignal
    from alliance_monitor.alerts import AlertDispatcher, RedisOutbox, WebhookEndpoint

    url, secret, redis_url, prefix, n = sys.argv[1:6]

    async def main():
        ep = WebhookEndpoint(url, [secret], name="rx")
        ob = RedisOutbox(redis_url, prefix=prefix, claim_ttl=2.0)
        async with AlertDispatcher([ep], outbox=ob, retry_schedule=(0,) + (0.05,) * 50,
                                   timeout=30, allow_private=True) as d:
            for i in range(int(n)):
                await d.submit(SafetySignal(id=f"evt_k{i}", conversation_id=f"c{i}",
                                            message_id=f"m{i}", category="self_harm"))
            print("READY", flush=True)
            await anyio.sleep(60)

    anyio.run(main)
    """
)


@pytest.mark.anyio
async def test_a_worker_killed_mid_delivery_leaves_its_alerts_to_another(prefix: str) -> None:
    """The child claims every alert and its requests hang at the receiver; kill -9. Once its
    claims run out, a second dispatcher delivers them: each processed once by the receiver,
    the ones the dead worker had already sent arriving again with the same webhook-id."""
    n = 6
    hold = {"on": True}

    async def slow(d: Delivery) -> Reply:
        while hold["on"]:
            await anyio.sleep(0.05)
        return Reply(204)

    async with LoopbackReceiver([SECRET], behaviour=slow) as rx:
        env = {**os.environ, "PYTHONPATH": REPO}
        url = redis_url()
        async with await anyio.open_process(
            [sys.executable, "-c", _CHILD, rx.url, SECRET, url, prefix, str(n)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
        ) as child:  # fmt: skip
            assert child.stdout is not None
            seen = b""
            with anyio.fail_after(30):
                async for chunk in child.stdout:
                    seen += chunk
                    if b"READY" in seen:
                        break
            with anyio.fail_after(30):  # its requests reached the receiver and hang there
                while len(rx.requests) < 4:
                    await anyio.sleep(0.05)
            child.send_signal(signal.SIGKILL)
            assert await child.wait() == -signal.SIGKILL
        sent_by_the_dead = {d.id for d in rx.requests}
        hold["on"] = False
        started = time.monotonic()
        async with AlertDispatcher([endpoint(rx)], outbox=outbox(prefix), retry_schedule=FAST,
                                   allow_private=True) as d:  # fmt: skip
            with anyio.fail_after(30):
                while d.stats().delivered < n:
                    d._wake.set()
                    await anyio.sleep(0.1)
        took = time.monotonic() - started
    assert_exactly_once(rx, {f"evt_k{i}" for i in range(n)})
    # The dead worker's requests were answered after it died; the survivor sent those again.
    again = [d for d in rx.requests if d.duplicate]
    assert {d.id for d in again} <= sent_by_the_dead
    assert took < 20  # the claims' 2 s, not a long timeout
