"""Phase rating at session end (``ScoringPolicy(session_scoring="phases")``) with a scripted LLM server:
the summary uses the rated phases, live windows still drive alerts, long phases are summarised
through the running summary, and any failure falls back to the window-based summary, counted."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from llm_helpers import FakeLLM, completion, make_scorer, valid_answer

from alliance_monitor import ConfigError, ScoringPolicy, WindowPolicy
from alliance_monitor._events import EventType, SessionSummary, Trajectory
from alliance_monitor._monitor import Monitor
from alliance_monitor.testing import EventCollector

pytestmark = pytest.mark.anyio

TALK = [
    ("counselor", "Hi, what would you like to talk about today?"),
    ("client", "I have been drinking more since I lost my job and my wife is worried."),
    ("counselor", "It sounds like the job loss hit hard. What worries you most?"),
    ("client", "That I am letting my kids down. I want to cut down."),
    ("counselor", "Cutting down matters to you because of your kids."),
    ("client", "Yes. Maybe no drinks on weekdays would be a start."),
    ("counselor", "What would help you keep to no drinks on weekdays?"),
    ("client", "Telling my wife, so she knows what I am trying."),
    ("counselor", "You would like her on your side in this."),
    ("client", "Exactly, and maybe I could call my brother when it gets hard."),
    ("counselor", "Two people to lean on. How confident do you feel about it?"),
    ("client", "Fairly confident. Thank you, this helped me sort it out."),
]
PHASE = re.compile(r"Window (\d) \(phase,")


def messages(conv: str = "p1") -> list[dict[str, Any]]:
    return [
        {
            "conversation_id": conv,
            "id": f"{conv}:{i}",
            "role": r,
            "text": t,
            "ts": 1_700_000_000.0 + 10 * i,
        }
        for i, (r, t) in enumerate(TALK)
    ]


def rater(phase_levels: dict[int, int | None], window_level: int = 4) -> Any:
    """Windows at `window_level` with a summary naming the window; phase k at phase_levels[k]
    (None: an unusable answer)."""

    def reply(body: dict[str, Any]) -> httpx.Response:
        user = body["messages"][1]["content"]
        m = PHASE.search(user)
        if m is None:
            data = json.loads(valid_answer(body, window_level))
            data["summary"] = f"SUMMARY-OF-WINDOW-{user.count('m')}"
            return completion(json.dumps(data))
        level = phase_levels[int(m.group(1))]
        if level is None:
            return completion("no idea")
        data = json.loads(valid_answer(body, level))
        data["summary"] = f"phase {m.group(1)} summary"
        return completion(json.dumps(data))

    return reply


async def run(fake: FakeLLM, **kw: Any) -> tuple[Monitor, EventCollector, SessionSummary]:
    col = EventCollector()
    scorer = make_scorer(fake, repair=False)
    monitor = Monitor(
        scorer=scorer,
        window=WindowPolicy(max_exchanges=2),
        idle_check_interval=None,
        **kw,
        scoring=ScoringPolicy(session_scoring="phases", overload="wait"),
    )
    async with monitor:
        monitor.on(col)
        for x in messages():
            await monitor.ingest(x)
        await monitor.end_session("p1")
        await monitor.flush()
    (summary,) = col.of(EventType.SESSION_SUMMARY)
    assert isinstance(summary, SessionSummary)
    return monitor, col, summary


async def test_session_summary_uses_the_rated_phases() -> None:
    fake = FakeLLM([rater({0: 2, 1: 3, 2: 5})])
    monitor, col, summary = await run(fake)
    assert summary.phase_convention == "rated_phases"
    assert (
        summary.phases.early.overall,
        summary.phases.middle.overall,
        summary.phases.late.overall,
    ) == (2.0, 3.0, 5.0)
    assert summary.change == 3.0 and summary.trajectory == Trajectory.IMPROVED
    # the rolling windows were scored as usual (they drive live alerts) ...
    windows = col.of(EventType.WINDOW_SCORED)
    assert len(windows) == summary.n_windows >= 3
    assert all(w.score.scores.overall == 4.0 for w in windows)  # type: ignore[attr-defined]
    # ... and three phase calls followed, each a "phase" request holding its third
    phase_bodies = [b for b in fake.requests if PHASE.search(b["messages"][1]["content"])]
    assert [
        PHASE.search(b["messages"][1]["content"]).group(1)  # type: ignore[union-attr]
        for b in phase_bodies
    ] == ["0", "1", "2"]
    assert monitor.stats()["phases_rated"] == 1
    # the middle phase sees the early phase's summary as context
    assert "phase 0 summary" in phase_bodies[1]["messages"][1]["content"]


async def test_a_failed_phase_keeps_the_window_summary_and_is_counted() -> None:
    fake = FakeLLM([rater({0: 2, 1: None, 2: 5})])
    monitor, _col, summary = await run(fake)
    assert summary.phase_convention == "windows"
    assert summary.phases.early.overall == summary.phases.late.overall == 4.0
    assert monitor.stats()["phases_fallback_middle_unscored"] == 1


async def test_long_phase_is_summarised_through_the_running_summary() -> None:
    fake = FakeLLM([rater({0: 3, 1: 3, 2: 3})])
    col = EventCollector()
    monitor = Monitor(
        scorer=make_scorer(fake, repair=False),
        window=WindowPolicy(max_exchanges=1),
        idle_check_interval=None,
        scoring=ScoringPolicy(session_scoring="phases", overload="wait"),
    )
    monitor._phases.rater.max_phase_tokens = 40  # type: ignore[union-attr]
    async with monitor:
        monitor.on(col)
        for x in messages():
            await monitor.ingest(x)
        await monitor.end_session("p1")
        await monitor.flush()
    (summary,) = col.of(EventType.SESSION_SUMMARY)
    assert summary.phase_convention == "rated_phases"  # type: ignore[attr-defined]
    assert monitor.stats()["phases_summarised"] >= 1
    phase_users = [
        b["messages"][1]["content"]
        for b in fake.requests
        if PHASE.search(b["messages"][1]["content"])
    ]
    # a phase whose early messages were dropped carries a window's running summary instead
    assert any("SUMMARY-OF-WINDOW-" in u for u in phase_users)


async def test_option_is_checked_and_windows_mode_is_unchanged() -> None:
    with pytest.raises(ConfigError):
        Monitor(scoring=ScoringPolicy(session_scoring="thirds"))  # type: ignore[arg-type]
    fake = FakeLLM([rater({0: 1, 1: 1, 2: 1})])
    col = EventCollector()
    async with Monitor(
        scorer=make_scorer(fake),
        window=WindowPolicy(max_exchanges=2),
        idle_check_interval=None,
        scoring=ScoringPolicy(overload="wait"),
    ) as m:
        m.on(col)
        for x in messages():
            await m.ingest(x)
        await m.end_session("p1")
        await m.flush()
    (summary,) = col.of(EventType.SESSION_SUMMARY)
    assert summary.phase_convention == "windows"  # type: ignore[attr-defined]
    assert not any(PHASE.search(b["messages"][1]["content"]) for b in fake.requests)
