"""Stateful property test of durable state (hypothesis): random ingest / duplicate / reorder /
restart / crash sequences against the SQLite and the Redis store. After every step the
invariants of ../shared/reliability.md hold:

- every submitted message is accepted, or a duplicate, or rejected with a reason;
- every accepted message survives a restart (re-submitting it afterwards is a duplicate);
- after a final drain, every accepted message is covered by a scored window or listed in an
  unscored one;
- no event id is emitted twice, except re-sends after a crash.

The Monitor runs on an event loop in a thread (an anyio blocking portal), so the synchronous
rules of the state machine can drive it across restarts.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import anyio
import hypothesis.strategies as st
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from redis_helpers import clear_prefix, redis_url, unique_prefix

from alliance_monitor import Monitor, ScoringPolicy
from alliance_monitor._config import WindowPolicy
from alliance_monitor._events import Event, WindowScored, WindowUnscored
from alliance_monitor.store import SQLiteStore, StateStore
from alliance_monitor.store._redis import RedisStore
from alliance_monitor.testing import StaticScorer

CONVS = ("a", "b", "c")
texts = st.text(min_size=0, max_size=30) | st.sampled_from(
    ["I hear you", "that sounds hard", "what would help?", "I don't know", "ok"]
)
SETTINGS = settings(
    max_examples=40,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


class StoreMachine(RuleBasedStateMachine):
    make_store: Callable[[], StateStore]

    def __init__(self) -> None:
        super().__init__()
        self._portal_cm: AbstractContextManager[BlockingPortal] = start_blocking_portal()
        self.portal = self._portal_cm.__enter__()
        self.accepted: dict[str, dict[str, Any]] = {}
        self.n = 0
        self.clock = {c: 0.0 for c in CONVS}
        self.crashes = 0
        self.first_seen: dict[str, int] = {}  # event id -> crashes before it was first seen
        self.covered: set[str] = set()
        self.submitted = 0
        self._open()

    # ------------------------------------------------------------------ plumbing
    def _open(self) -> None:
        self.monitor = Monitor(
            scorer=StaticScorer(
                lambda r: 1.0 + (r.window_index * 7 % 5),
                passive=0.6,
                fail=lambda r: "flaky" if r.window_index % 5 == 3 else None,
            ),
            window=WindowPolicy(max_exchanges=2, max_tokens=60, max_messages=8),
            idle_check_interval=None,
            store=self.make_store(),
            scoring=ScoringPolicy(overload="wait"),
        )
        self.monitor.on(self._on_event)
        self._cm = self.portal.wrap_async_context_manager(self.monitor)
        self._cm.__enter__()
        self.submitted = 0

    def _on_event(self, ev: Event) -> None:
        if ev.id in self.first_seen:
            # A re-send is only allowed when a crash happened after the first emission.
            assert self.crashes > self.first_seen[ev.id], f"event {ev.type} emitted twice"
        else:
            self.first_seen[ev.id] = self.crashes
        if isinstance(ev, WindowScored):
            self.covered.update(ev.score.evidence)
        elif isinstance(ev, WindowUnscored):
            self.covered.update(ev.message_ids)

    def _ingest(self, m: Any) -> str:
        self.submitted += 1
        res = self.portal.call(self.monitor.ingest, m)
        if res.status == "rejected":
            assert res.reason is not None
        return res.status

    def _new(self, conv: str, role: str, text: str, ts: float) -> dict[str, Any]:
        self.n += 1
        return {"conversation_id": conv, "id": f"m{self.n}", "role": role, "text": text, "ts": ts}

    def _submit_new(self, m: dict[str, Any]) -> None:
        status = self._ingest(m)
        assert status in ("accepted", "rejected")
        if status == "accepted":
            self.accepted[m["id"]] = m

    def _close(self, crash: bool) -> None:
        if crash:
            self._cm.__exit__(RuntimeError, RuntimeError("simulated crash"), None)
        else:
            self._cm.__exit__(None, None, None)

    # ------------------------------------------------------------------ rules
    @rule(
        conv=st.sampled_from(CONVS),
        role=st.sampled_from(("counselor", "client", "other")),
        text=texts,
        jitter=st.floats(min_value=-3.0, max_value=5.0),
    )
    def ingest(self, conv: str, role: str, text: str, jitter: float) -> None:
        self.clock[conv] += 1.0
        self._submit_new(self._new(conv, role, text, max(0.0, self.clock[conv] + jitter)))

    @rule(conv=st.sampled_from(CONVS), first=st.sampled_from(("counselor", "client")))
    def reorder(self, conv: str, first: str) -> None:
        """Two messages arrive in the opposite order of their timestamps."""
        self.clock[conv] += 2.0
        a = self._new(conv, first, "earlier one", self.clock[conv] - 1.0)
        b = self._new(
            conv, "client" if first == "counselor" else "counselor", "later one", self.clock[conv]
        )
        self._submit_new(b)
        self._submit_new(a)

    @precondition(lambda self: bool(self.accepted))
    @rule(data=st.data())
    def duplicate(self, data: st.DataObject) -> None:
        m = data.draw(st.sampled_from(sorted(self.accepted)))
        assert self._ingest(self.accepted[m]) == "duplicate"

    @rule(
        bad=st.sampled_from(
            [
                {"conversation_id": "a", "id": "x", "role": "nurse", "text": "t", "ts": 1},
                {"conversation_id": "b", "id": "y", "role": "client", "text": "", "ts": 1},
                {"conversation_id": "c", "role": "client", "text": "t", "ts": 1},
                "not an object",
            ]
        )
    )
    def invalid(self, bad: Any) -> None:
        assert self._ingest(bad) == "rejected"

    @rule(crash=st.booleans())
    def restart(self, crash: bool) -> None:
        """Close the monitor (gracefully, or as if killed) and reopen it on the same store;
        every accepted message is still there."""
        self._close(crash)
        if crash:
            self.crashes += 1
        self._open()
        for m in self.accepted.values():
            assert self._ingest(m) == "duplicate"

    @invariant()
    def every_submission_is_accounted_for(self) -> None:
        c = self.monitor.core.counts
        assert c["messages_in"] == self.submitted
        assert c["accepted"] + c["duplicates"] + c["rejected"] == self.submitted
        assert sum(self.monitor.core.rejected.values()) == c["rejected"]

    def teardown(self) -> None:
        try:
            self.portal.call(self.monitor.end_all_sessions)
            self.portal.call(self.monitor.flush)
            missing = set(self.accepted) - self.covered
            assert not missing, f"{len(missing)} accepted messages never scored nor skipped"
            self._close(False)
        finally:
            self._portal_cm.__exit__(None, None, None)
            self.cleanup()

    def cleanup(self) -> None:
        pass


def test_sqlite_store_machine() -> None:
    class SQLiteMachine(StoreMachine):
        def __init__(self) -> None:
            self.dir = Path(tempfile.mkdtemp(prefix="am-stateful-"))
            self.make_store = lambda: SQLiteStore(self.dir / "state.db")
            super().__init__()

        def cleanup(self) -> None:
            shutil.rmtree(self.dir, ignore_errors=True)

        @invariant()
        def sqlite_integrity(self) -> None:
            import sqlite3

            con = sqlite3.connect(self.dir / "state.db")
            try:
                assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            finally:
                con.close()

    run_state_machine_as_test(SQLiteMachine, settings=SETTINGS)


def test_redis_store_machine() -> None:
    url = redis_url()

    class RedisMachine(StoreMachine):
        def __init__(self) -> None:
            self.prefix = unique_prefix("stateful")
            self.make_store = lambda: RedisStore(url, prefix=self.prefix)
            super().__init__()

        def cleanup(self) -> None:
            anyio.run(clear_prefix, url, self.prefix)

    run_state_machine_as_test(RedisMachine, settings=SETTINGS)
