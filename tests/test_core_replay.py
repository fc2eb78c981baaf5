"""Behaviour preservation: recorded window scores replayed through the core and the monitor give
exactly the recorded events and event ids.

`tests/data/core_replay.json` holds a small transcript, the embedded scorer's scores for its
windows and the events they caused, recorded once (`tests/data/make_core_replay.py`). Scores are
replayed by a scripted scorer, so changes to the embedded scorer cannot move this comparison;
changes to windows, sessions, rules, ids or the monitor's plumbing do.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from alliance_monitor import Monitor, ScoringPolicy, WindowRequest, WindowScore
from alliance_monitor._config import SessionPolicy, WindowPolicy
from alliance_monitor._core import MonitorCore
from alliance_monitor.scoring._base import SyncScorer
from alliance_monitor.store import MemoryStore, SQLiteStore
from alliance_monitor.testing import EventCollector

DATA = json.loads((Path(__file__).parent / "data" / "core_replay.json").read_text("utf-8"))


class ReplayScorer(SyncScorer):
    """Returns the recorded score of each window; fails loudly on a window it never saw."""

    name = "replay"

    def __init__(self, scores: list[dict[str, Any]]) -> None:
        self.by_window = {
            (s["conversation_id"], s["window_index"]): WindowScore.model_validate(s) for s in scores
        }

    def score_sync(self, request: WindowRequest) -> WindowScore:
        score = self.by_window[(request.conversation_id, request.window_index)]
        ids = [m.id for m in request.messages]
        assert (score.first_message_id, score.last_message_id) == (ids[0], ids[-1])
        assert score.n_messages == len(ids)
        return score


def _policies() -> dict[str, Any]:
    return {
        "window": WindowPolicy(**DATA["window_policy"]),
        "session": SessionPolicy(**DATA["session_policy"]),
    }


def _by_pair(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        if e["type"] != "safety_signal":  # fired at ingest, in its own task in the monitor
            out[e["conversation_id"]].append(e)
    return dict(out)


def test_fixture_is_substantial() -> None:
    types = {e["type"] for e in DATA["events"]}
    assert {"window_scored", "alliance_declined", "alliance_low", "session_summary"} <= types
    assert {"passive_pattern", "directive_pattern", "safety_signal"} <= types
    assert len(DATA["scores"]) >= 20


def test_core_replay_gives_recorded_events() -> None:
    core = MonitorCore(**_policies())
    scorer = ReplayScorer(DATA["scores"])
    events: list[dict[str, Any]] = []

    def run(work: Any, evs: Any) -> None:
        events.extend(json.loads(e.model_dump_json()) for e in core.session_pages(list(evs)))
        for req in work:
            events.extend(
                json.loads(e.model_dump_json())
                for e in core.session_pages(core.apply(scorer.score_sync(req), req))
            )

    for i, m in enumerate(DATA["messages"]):
        out = core.ingest(m, now=float(i))
        run(out.work, out.events)
    out = core.end_all("shutdown")
    run(out.work, out.events)
    assert [e["id"] for e in events] == [e["id"] for e in DATA["events"]]
    assert events == DATA["events"]


@pytest.mark.anyio
@pytest.mark.parametrize("store", ["none", "memory", "sqlite"])
async def test_monitor_replay_gives_recorded_events(store: str, tmp_path: Path) -> None:
    st = {"none": None, "memory": MemoryStore(), "sqlite": SQLiteStore(tmp_path / "s.db")}[store]
    monitor = Monitor(
        scorer=ReplayScorer(DATA["scores"]),
        scoring=ScoringPolicy(overload="wait"),
        idle_check_interval=None,
        store=st,
        **_policies(),
    )
    collector = EventCollector()
    monitor.on(collector)
    async with monitor:
        for m in DATA["messages"]:
            await monitor.ingest(m)
        await monitor.end_all_sessions()
        await monitor.flush()
    got = [json.loads(e.model_dump_json()) for e in collector.events]
    assert sorted(e["id"] for e in got) == sorted(e["id"] for e in DATA["events"])
    assert _by_pair(got) == _by_pair(DATA["events"])
    assert sorted(got, key=lambda e: e["id"]) == sorted(DATA["events"], key=lambda e: e["id"])
