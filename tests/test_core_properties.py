"""Property-based tests of the window/state logic (hypothesis stateful testing).

Random ingest / duplicate / reorder / invalid / end-session / scorer-failure sequences; after every
step the invariants of ../shared/reliability.md that the in-memory core can promise must hold.
"""

from __future__ import annotations

from collections import Counter, deque
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from alliance_monitor import WindowRequest
from alliance_monitor._config import WindowPolicy
from alliance_monitor._core import MonitorCore, Outcome
from alliance_monitor.testing import StaticScorer

CONVS = ("a", "b", "c")
texts = st.text(min_size=0, max_size=40)


class CoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.core = MonitorCore(
            window=WindowPolicy(max_exchanges=2, max_tokens=60, max_messages=8), safety=False
        )
        self.scorer = StaticScorer(
            lambda r: 1.0 + (r.window_index * 7 % 5),
            passive=0.6,
            fail=lambda r: "flaky" if r.window_index % 5 == 3 else None,
        )
        self.queue: dict[str, deque[WindowRequest]] = {c: deque() for c in CONVS}
        self.accepted: Counter[str] = Counter()
        self.sent: list[dict[str, Any]] = []
        self.submitted = 0
        self.scored_ids: Counter[str] = Counter()
        self.unscored_ids: Counter[str] = Counter()
        self.n = 0
        self.clock = {c: 0.0 for c in CONVS}

    def _take(self, out: Outcome) -> None:
        for w in out.work:
            self.queue[w.conversation_id].append(w)

    @rule(
        conv=st.sampled_from(CONVS),
        role=st.sampled_from(("counselor", "client", "other")),
        text=texts,
        jitter=st.floats(min_value=-3.0, max_value=5.0),
    )
    def ingest(self, conv: str, role: str, text: str, jitter: float) -> None:
        self.n += 1
        self.clock[conv] += 1.0
        m = {
            "conversation_id": conv,
            "id": f"m{self.n}",
            "role": role,
            "text": text,
            "ts": max(0.0, self.clock[conv] + jitter),
        }
        self.submitted += 1
        out = self.core.ingest(m)
        assert out.result is not None
        if out.result.accepted:
            self.accepted[m["id"]] += 1
            self.sent.append(m)
        else:
            assert out.result.status == "rejected" and out.result.reason is not None
        self._take(out)

    @precondition(lambda self: bool(self.sent))
    @rule(data=st.data())
    def duplicate(self, data: st.DataObject) -> None:
        m = data.draw(st.sampled_from(self.sent))
        self.submitted += 1
        out = self.core.ingest(m)
        assert out.result is not None and out.result.status == "duplicate"
        assert not out.work and not out.events

    @rule(
        bad=st.sampled_from(
            [
                {"conversation_id": "a", "id": "x", "role": "nurse", "text": "t", "ts": 1},
                {"conversation_id": "a", "id": "x", "role": "client", "text": "", "ts": 1},
                {"conversation_id": "a", "role": "client", "text": "t", "ts": 1},
                "not an object",
                {
                    "conversation_id": "a",
                    "id": "x",
                    "role": "client",
                    "text": "t",
                    "ts": float("inf"),
                },
            ]
        )
    )
    def invalid(self, bad: Any) -> None:
        self.submitted += 1
        out = self.core.ingest(bad)
        assert out.result is not None and out.result.status == "rejected"

    @rule(conv=st.sampled_from(CONVS))
    def score_one(self, conv: str) -> None:
        if self.queue[conv]:
            req = self.queue[conv].popleft()
            sc = self.scorer.score_sync(req)
            bucket = self.scored_ids if sc.scored else self.unscored_ids
            for m in req.messages:
                bucket[m.id] += 1
            self.core.apply(sc, req)

    @rule(conv=st.sampled_from(CONVS))
    def end_session(self, conv: str) -> None:
        self._take(self.core.end_session(conv))

    @invariant()
    def every_submission_is_accounted_for(self) -> None:
        c = self.core.counts
        assert c["messages_in"] == self.submitted
        assert c["accepted"] + c["duplicates"] + c["rejected"] == self.submitted
        assert sum(self.core.rejected.values()) == c["rejected"]

    @invariant()
    def windows_stay_bounded(self) -> None:
        for pair in self.core._pairs.values():
            assert len(pair.open) <= 8
            assert len(pair.history) <= self.core.window.history
            keys = [h.key for h in pair.open]
            assert keys == sorted(keys)

    def teardown(self) -> None:
        # Drain: end every session, score everything. Every accepted message is then covered by
        # exactly one window, scored or listed as unscored; nothing is lost or doubled.
        self._take(self.core.end_all())
        for conv in CONVS:
            while self.queue[conv]:
                self.score_one(conv)
        covered = self.scored_ids + self.unscored_ids
        assert set(covered) == set(self.accepted)
        assert all(v == 1 for v in covered.values())
        assert self.core.pending_windows() == 0


TestCoreMachine = CoreMachine.TestCase
TestCoreMachine.settings = settings(
    max_examples=150,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(("counselor", "client")), st.text("abc ", min_size=1).filter(str.strip)
        ),
        max_size=80,
    ),
    st.randoms(use_true_random=False),
)
def test_shuffling_within_open_window_never_loses_or_duplicates(
    items: list[tuple[str, str]], rnd: Any
) -> None:
    core = MonitorCore(window=WindowPolicy(max_exchanges=3), safety=False)
    msgs = [
        {"conversation_id": "p", "id": f"m{i}", "role": r, "text": t or "x", "ts": float(i)}
        for i, (r, t) in enumerate(items)
    ]
    # Reorder inside blocks of 3: late arrivals within a window's span.
    blocks = [msgs[i : i + 3] for i in range(0, len(msgs), 3)]
    for b in blocks:
        rnd.shuffle(b)
    seen: list[str] = []
    for m in [m for b in blocks for m in b]:
        for w in core.ingest(m).work:
            seen.extend(x.id for x in w.messages)
    for w in core.end_all().work:
        seen.extend(x.id for x in w.messages)
    assert sorted(seen) == sorted(m["id"] for m in msgs)
