"""What "declined" means, on sessions we wrote with known rupture and repair points (English and
Chinese, `tests/data/rupture_sessions.jsonl`), through `analyze` and the live monitor alike.

Each session opens the same way (the counselor explores, the client opens up), then:

* ``*-unrepaired``: the counselor pushes advice; the client pushes back ("that's not the point",
  "you're not listening", 你根本不懂我) and withdraws ("whatever", 随便吧); nobody repairs it.
  A decline, citing the rupture messages.
* ``*-natural``: the client asks for help, the counselor offers suggestions with permission,
  they agree a plan, thank each other and say goodbye. Fewer questions, more suggestions, a warm
  close: the natural course, never a decline.
* ``*-repaired``: the counselor gives unasked advice, the client confronts, the counselor
  acknowledges it and changes course, the client takes it up. Reported as repaired, not a
  decline.
* ``*-long-turns``: few, long turns after a one-line greeting and before a one-line goodbye;
  an early and a late part to compare all the same (phases split on evidence).
* ``*-greetings``: greetings only: no trajectory (insufficient evidence).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from alliance_monitor import (
    DECLINE_DEFINITION,
    AllianceDeclined,
    Event,
    Monitor,
    Rupture,
    SessionSummary,
    Trajectory,
    WindowScored,
    WindowSignals,
    analyze_transcript,
    assess_decline,
    verdict_word,
)
from alliance_monitor._config import DeclinePolicy, ScoringPolicy
from alliance_monitor._io import parse_transcript
from alliance_monitor._models import DimensionScores
from alliance_monitor.scoring import EmbeddedScorer

SESSIONS = {
    c["conversation_id"]: c
    for c in (
        json.loads(line)
        for line in (Path(__file__).parent / "data" / "rupture_sessions.jsonl")
        .read_text(encoding="utf-8")
        .splitlines()
        if line.strip()
    )
}


def _analyze(cid: str) -> Any:
    conv = SESSIONS[cid]
    tr = parse_transcript(0, {k: conv[k] for k in ("conversation_id", "messages")}, [])
    assert tr is not None
    return analyze_transcript(tr.conversation_id, tr.messages, EmbeddedScorer())


def _replay(decline: Any = None, session_scoring: Any = "windows") -> dict[str, list[Event]]:
    async def run() -> dict[str, list[Event]]:
        events: dict[str, list[Event]] = {cid: [] for cid in SESSIONS}
        monitor = Monitor(
            scorer=EmbeddedScorer(),
            scoring=ScoringPolicy(overload="wait", session_scoring=session_scoring),
            decline=decline,
            idle_check_interval=None,
        )
        async with monitor:
            monitor.on(lambda ev: events[ev.conversation_id].append(ev))
            for cid, conv in SESSIONS.items():
                for m in conv["messages"]:
                    await monitor.ingest({**m, "conversation_id": cid})
                await monitor.end_session(cid)
            await monitor.flush()
        return events

    return asyncio.run(run())


@pytest.fixture(scope="module")
def live() -> dict[str, list[Event]]:
    """Every session replayed message by message through the live monitor."""
    return _replay()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_an_unrepaired_rupture_is_a_decline_citing_it(
    lang: str, live: dict[str, list[Event]]
) -> None:
    cid = f"{lang}-unrepaired"
    labelled = set(SESSIONS[cid]["labels"]["ruptures"])
    result = _analyze(cid)
    assert result.trajectory is Trajectory.DECLINED
    assert result.verdict.reason == "unrepaired_rupture"
    assert labelled & set(result.verdict.evidence)
    assert result.to_json()["decline"]["evidence"] == list(result.verdict.evidence)
    # Live: the event pages, cites the ruptures, names the dimension; the summary agrees.
    declines = [e for e in live[cid] if isinstance(e, AllianceDeclined)]
    assert declines and all(e.reason == "unrepaired_rupture" for e in declines)
    assert labelled & set(declines[0].ruptures)
    assert {e.dimension for e in declines} <= {"goal", "task", "bond", "overall"}
    (summary,) = [e for e in live[cid] if isinstance(e, SessionSummary)]
    assert summary.trajectory is Trajectory.DECLINED and labelled & set(summary.evidence)


def test_a_session_that_ended_declined_is_paged_at_its_end_once() -> None:
    """The live event and the session trajectory say the same thing: a session whose summary
    is "declined" is paged at its end when the rolling windows did not page it (here they
    cannot: a fall of 4 levels is asked of them), right after its summary, citing its
    evidence; a session the windows already paged is not paged twice; no other session is."""
    strict = _replay(DeclinePolicy(levels=4.0))
    usual = _replay()
    for cid, events in strict.items():
        (summary,) = [e for e in events if isinstance(e, SessionSummary)]
        pages = [e for e in events if isinstance(e, AllianceDeclined)]
        if summary.trajectory is not Trajectory.DECLINED:
            assert not pages, cid
            continue
        (page,) = pages
        assert events.index(page) == events.index(summary) + 1
        assert page.basis == "session" and page.reference == "baseline"
        assert page.evidence and set(page.evidence) <= set(summary.evidence)
        assert page.to_level < page.from_level
        assert page.from_level == summary.phases.early.get(page.dimension)
        assert page.feedback is not None
        # with the usual policy the windows page it first, and the end adds nothing
        paged = [e for e in usual[cid] if isinstance(e, AllianceDeclined)]
        assert paged and all(e.basis == "windows" for e in paged), cid
    assert any(
        e.basis == "session"
        for evs in strict.values()
        for e in evs
        if isinstance(e, AllianceDeclined)
    )
    # With phases rated at session end the page follows the rated summary, and agrees with it.
    rated = _replay(DeclinePolicy(levels=4.0), session_scoring="phases")
    for cid, events in rated.items():
        (summary,) = [e for e in events if isinstance(e, SessionSummary)]
        pages = [e for e in events if isinstance(e, AllianceDeclined)]
        assert len(pages) == (summary.trajectory is Trajectory.DECLINED), cid
        assert all(events.index(p) > events.index(summary) for p in pages)
    assert any(isinstance(e, AllianceDeclined) for evs in rated.values() for e in evs)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_move_to_suggestions_and_a_warm_close_is_no_decline(
    lang: str, live: dict[str, list[Event]]
) -> None:
    cid = f"{lang}-natural"
    result = _analyze(cid)
    assert result.trajectory is not Trajectory.DECLINED
    assert result.stages()["early"] == "opening" and result.stages()["late"] == "closing"
    assert not [e for e in live[cid] if isinstance(e, AllianceDeclined)]
    (summary,) = [e for e in live[cid] if isinstance(e, SessionSummary)]
    assert summary.trajectory is not Trajectory.DECLINED
    assert summary.stages["late"] == "closing"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_repaired_rupture_is_reported_as_repaired(
    lang: str, live: dict[str, list[Event]]
) -> None:
    cid = f"{lang}-repaired"
    (rupture,) = SESSIONS[cid]["labels"]["ruptures"]
    (repair,) = SESSIONS[cid]["labels"]["repairs"]
    result = _analyze(cid)
    assert result.trajectory is not Trajectory.DECLINED
    assert (rupture, repair) in result.verdict.repaired
    assert {"rupture": rupture, "repair": repair} in result.to_json()["decline"]["repaired"]
    assert verdict_word(result.trajectory, bool(result.verdict.repaired)) == "repaired"
    # Live: no page; a window reports the rupture with the message that repaired it, and the
    # session summary lists it.
    assert not [e for e in live[cid] if isinstance(e, AllianceDeclined)]
    marks = [
        r
        for e in live[cid]
        if isinstance(e, WindowScored) and e.score.signals is not None
        for r in e.score.signals.ruptures
    ]
    assert (
        Rupture(message_id=rupture, kind="confrontation", marker="discord", repaired_by=repair)
        in marks
    )
    (summary,) = [e for e in live[cid] if isinstance(e, SessionSummary)]
    assert (rupture, repair) in summary.repaired
    assert summary.trajectory is not Trajectory.DECLINED


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_few_long_turns_have_an_early_and_a_late_part(lang: str) -> None:
    result = _analyze(f"{lang}-long-turns")
    assert result.split == "evidence"  # the one-line goodbye alone was too thin to score
    assert result.trajectory is not Trajectory.INSUFFICIENT_EVIDENCE
    assert result.windows[0].scored and result.windows[-1].scored
    out = result.to_json()
    assert out["phase_split"] == "evidence"
    # the session's alliance and message scores stay those of the thirds
    assert len(out["messages"]) == sum(
        m["role"] == "counselor" for m in SESSIONS[f"{lang}-long-turns"]["messages"]
    )


def test_the_evidence_cut_moves_until_the_part_says_enough_words() -> None:
    """Short Chinese lines whose late third carries enough cues but too few words: the cut
    moves inward until the late part also clears the scorer's word floor, so the part is
    scored instead of abstaining again (the cut knows every floor the scorer applies)."""
    lines = [
        ("counselor", "或许你可以从接受帮助开始练习。"),
        ("client", "日子定好了，下个月结婚"),
        ("counselor", "不要让孩子看到你们吵架，这是最基本的。"),
        ("client", "困死了，昨晚没睡好"),
        ("counselor", "似乎你已经放弃了让家人理解你。"),
        ("client", "开心死了，考试过了"),
        ("counselor", "您觉得是什么原因让您这么难过？"),
        ("client", "我很怕死"),
    ]
    conv = {
        "conversation_id": "cut-words",
        "messages": [
            {"id": f"m{i}", "role": role, "text": text, "ts": float(i)}
            for i, (role, text) in enumerate(lines)
        ],
    }
    tr = parse_transcript(0, conv, [])
    assert tr is not None
    result = analyze_transcript(tr.conversation_id, tr.messages, EmbeddedScorer())
    assert result.split == "evidence"
    assert result.windows[0].scored and result.windows[-1].scored
    assert result.trajectory is not Trajectory.INSUFFICIENT_EVIDENCE


def test_rated_phases_cut_on_evidence_as_analyze_does() -> None:
    """With ``session_scoring="phases"`` the live session summary rates the phases at session
    end, cutting them on evidence where an end third is too thin (few, long turns) and comparing
    the two exchanges of a two-exchange session when each carries enough, so it answers as
    `analyze` does for every written session: the long-turn sessions and their two-exchange
    excerpts get a trajectory instead of insufficient evidence, the greetings still abstain."""
    sessions = {cid: conv["messages"] for cid, conv in SESSIONS.items()}
    for lang in ("en", "zh"):  # two long exchanges after the greeting
        sessions[f"{lang}-two-exchanges"] = SESSIONS[f"{lang}-long-turns"]["messages"][1:5]

    async def run() -> tuple[dict[str, SessionSummary], dict[str, Any]]:
        out: dict[str, SessionSummary] = {}
        monitor = Monitor(
            scorer=EmbeddedScorer(),
            scoring=ScoringPolicy(overload="wait", session_scoring="phases"),
            idle_check_interval=None,
        )
        async with monitor:
            monitor.on(
                lambda ev: (
                    out.__setitem__(ev.conversation_id, ev)
                    if isinstance(ev, SessionSummary)
                    else None
                )
            )
            for cid, messages in sessions.items():
                for m in messages:
                    await monitor.ingest({**m, "conversation_id": cid})
                await monitor.end_session(cid)
            await monitor.flush()
            return out, monitor.stats()

    summaries, stats = asyncio.run(run())
    assert stats["phases_split_on_evidence"] >= 4
    for cid, messages in sessions.items():
        tr = parse_transcript(0, {"conversation_id": cid, "messages": messages}, [])
        assert tr is not None
        batch = analyze_transcript(cid, tr.messages, EmbeddedScorer())
        assert summaries[cid].trajectory is batch.trajectory, cid
    for lang in ("en", "zh"):
        for cid in (f"{lang}-long-turns", f"{lang}-two-exchanges"):
            assert summaries[cid].phase_convention == "rated_phases", cid
            assert summaries[cid].trajectory is not Trajectory.INSUFFICIENT_EVIDENCE, cid
        assert summaries[f"{lang}-greetings"].trajectory is Trajectory.INSUFFICIENT_EVIDENCE


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_greetings_only_still_abstain(lang: str) -> None:
    result = _analyze(f"{lang}-greetings")
    assert result.trajectory is Trajectory.INSUFFICIENT_EVIDENCE
    assert result.verdict.reason == "insufficient_evidence"


def _d(x: float) -> DimensionScores:
    return DimensionScores(goal=x, task=x, bond=x, overall=x)


def _rupture(mid: str, marker: str = "discord", by: str | None = None) -> Rupture:
    kind = "confrontation" if marker in ("discord", "rejects", "yes_but") else "withdrawal"
    return Rupture(message_id=mid, kind=kind, marker=marker, repaired_by=by)  # type: ignore[arg-type]


def test_assess_needs_a_fall_and_evidence_of_what_fell() -> None:
    one = [WindowSignals(ruptures=(_rupture("c1"),))]
    v = assess_decline(_d(4.0), _d(3.0), one)
    assert v.trajectory is Trajectory.DECLINED and v.evidence == ("c1",) and v.dimension
    # no fall: not a decline, however many ruptures (the level is what fell)
    assert assess_decline(_d(4.0), _d(3.9), one).trajectory is Trajectory.UNCHANGED
    # a fall without evidence: the natural course
    v = assess_decline(_d(4.0), _d(3.0), [WindowSignals(stage="closing")])
    assert v.trajectory is Trajectory.UNCHANGED and v.reason == "fell_without_evidence"
    # overstepping counselor messages are evidence too
    v = assess_decline(_d(4.0), _d(3.0), [WindowSignals(overstepping=("k1",))])
    assert v.reason == "overstepping" and v.evidence == ("k1",)
    # an ambiguous marker weighs half: one is not enough, two are
    vague = [WindowSignals(ruptures=(_rupture("c1", "vague_agreement"),))]
    assert assess_decline(_d(4.0), _d(3.0), vague).trajectory is Trajectory.UNCHANGED
    vague.append(WindowSignals(ruptures=(_rupture("c2", "shrug"),)))
    assert assess_decline(_d(4.0), _d(3.0), vague).trajectory is Trajectory.DECLINED
    # repaired in a later window: reported, not counted
    later = [*one, WindowSignals(ruptures=(_rupture("c1", by="k2"),))]
    v = assess_decline(_d(4.0), _d(3.0), later)
    assert v.trajectory is Trajectory.UNCHANGED and v.repaired == (("c1", "k2"),)
    # a rise with an unrepaired rupture is not "improved"
    assert assess_decline(_d(3.0), _d(4.0), one).trajectory is Trajectory.UNCHANGED
    assert assess_decline(_d(3.0), _d(4.0), []).trajectory is Trajectory.IMPROVED
    # no scored evidence at one end: abstain
    assert assess_decline(None, _d(3.0), one).trajectory is Trajectory.INSUFFICIENT_EVIDENCE
    assert "repaired" in DECLINE_DEFINITION and "unchanged" in DECLINE_DEFINITION


@pytest.mark.parametrize(
    ("trajectory", "repaired", "word"),
    [
        ("declined", True, "declined"),
        ("unchanged", False, "held"),
        ("unchanged", True, "repaired"),
        ("improved", False, "improved"),
        ("insufficient_evidence", True, "insufficient evidence"),
    ],
)
def test_verdict_words(trajectory: str, repaired: bool, word: str) -> None:
    assert verdict_word(trajectory, repaired) == word
