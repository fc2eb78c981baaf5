"""Sessions over time: a pair's sessions put in order (`session_id`), the across-session
trajectory beside the within-session view (Tables 5 and 5b), and the pair's sessions in the
report's pair view and in the live board."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import anyio
import pytest

from alliance_monitor import Message, WindowRequest
from alliance_monitor._core import MonitorCore
from alliance_monitor._models import DimensionScores, Rupture, WindowSignals
from alliance_monitor.scoring import score_or_unscored
from alliance_monitor.study import PairBoard, run_study
from alliance_monitor.study._sessions import across_verdicts, split_sessions
from alliance_monitor.testing import StaticScorer

DAY = 86400.0
#: pair -> the level of each of its sessions, in time order (None: the scorer fails on it).
PLAN: dict[str, list[float | None]] = {
    "rise": [2.0, 3.0, 4.0],
    "fall": [4.0, 3.5],
    "flat": [3.0, 3.1],
    "thin": [None, 3.0],
    "single": [3.0],
}


def _level_of(req: WindowRequest) -> float:
    m = re.search(r"\[L=([0-9.]+)\]", " ".join(x.text for x in req.messages))
    return float(m.group(1)) if m else 3.0


def _fail(req: WindowRequest) -> str | None:
    return "scorer_error" if any("[L=none]" in m.text for m in req.messages) else None


def scorer() -> StaticScorer:
    return StaticScorer(_level_of, fail=_fail)


RUPTURE = "you're not listening to me"


def session(
    cid: str, k: int, level: float | None, n: int = 36, rupture: bool = False
) -> list[dict[str, Any]]:
    tag = "none" if level is None else f"{level}"
    msgs = []
    for i in range(n):
        counselor = i % 2 == 0
        client = RUPTURE if rupture and i >= n // 2 else "It was hard"
        msgs.append(
            {
                "id": f"{cid}:s{k}:{i}",
                "role": "counselor" if counselor else "client",
                "text": f"[L={tag}] how has the week been?" if counselor else client,
                "ts": 1.7e9 + k * 7 * DAY + 30.0 * i,
                "session_id": f"{cid}-s{k}",
            }
        )
    return msgs


def write_corpus(path: Path) -> Path:
    lines = []
    for cid, levels in PLAN.items():
        if cid == "fall":  # one record per session, later session first, id at the top level
            for k in reversed(range(len(levels))):
                msgs = session(cid, k, levels[k], rupture=k > 0)  # what shows the fall
                for m in msgs:
                    del m["session_id"]
                lines.append(
                    {"conversation_id": cid, "session_id": f"{cid}-s{k}", "messages": msgs}
                )
            continue
        # all sessions in one record, shuffled: the study orders them by time
        msgs = [m for k in reversed(range(len(levels))) for m in session(cid, k, levels[k])]
        lines.append({"conversation_id": cid, "messages": msgs})
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def sessions_study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any], Path]:
    tmp = tmp_path_factory.mktemp("sessions")
    summary = run_study(write_corpus(tmp / "c.jsonl"), tmp / "out", scorer(), bootstrap=50)
    data = json.loads((tmp / "out" / "summary.json").read_text(encoding="utf-8"))
    return summary, data, tmp / "out"


def test_split_sessions_orders_by_start() -> None:
    msgs = [
        Message.model_validate(m)
        for k in (1, 0)
        for m in ({**x, "conversation_id": "p"} for x in session("p", k, 3.0, n=4))
    ]
    got = split_sessions(msgs)
    assert [sid for sid, _ in got] == ["p-s0", "p-s1"]
    assert all(len(ms) == 4 for _, ms in got)
    assert [m.ts for m in got[0][1]] == sorted(m.ts for m in got[0][1])
    plain = [m.model_copy(update={"session_id": None}) for m in msgs]
    assert len(split_sessions(plain)) == 1  # no session ids: one session


def _s(level: float) -> DimensionScores:
    return DimensionScores(goal=level, task=level, bond=level, overall=level)


def test_across_sessions_uses_the_one_definition_of_declined() -> None:
    rupture = WindowSignals(
        ruptures=(Rupture(message_id="m9", kind="confrontation", marker="discord"),)
    )
    repaired = WindowSignals(
        ruptures=(
            Rupture(message_id="m9", kind="confrontation", marker="discord", repaired_by="m10"),
        )
    )
    # a lower level with an unrepaired rupture in a later session: declined
    assert across_verdicts(_s(3.0), _s(2.0), [None, rupture], 0.25)["overall"] == "declined"
    # a lower level without evidence is the course of things, not a decline
    assert across_verdicts(_s(3.0), _s(2.0), [None], 0.25)["overall"] == "unchanged"
    assert across_verdicts(_s(3.0), _s(2.0), [rupture, repaired], 0.25)["overall"] == "unchanged"
    assert across_verdicts(_s(3.0), _s(3.2), [], 0.25)["overall"] == "unchanged"
    assert across_verdicts(_s(2.0), _s(2.5), [], 0.25)["goal"] == "improved_lt1"
    assert across_verdicts(_s(2.0), _s(4.0), [], 0.25)["overall"] == "improved_ge1"
    assert set(across_verdicts(None, _s(4.0), [], 0.25).values()) == {"insufficient_evidence"}
    assert set(across_verdicts(_s(3.0), None, [], 0.25).values()) == {"insufficient_evidence"}


def test_sessions_are_the_units_of_the_phase_tables(
    sessions_study: tuple[Any, dict[str, Any], Path],
) -> None:
    s, data, _out = sessions_study
    assert s.n_pairs == 5 and s.n_transcripts == 10  # 3 + 2 + 2 + 2 + 1 sessions
    rows = [(p["conversation_id"], p["session_index"], p["session_id"]) for p in data["pairs"]]
    assert [r for r in rows if r[0] == "rise"] == [
        ("rise", 0, "rise-s0"),
        ("rise", 1, "rise-s1"),
        ("rise", 2, "rise-s2"),
    ]
    # "fall" came as two records, later session first: merged and ordered, not a duplicate
    assert [r[2] for r in rows if r[0] == "fall"] == ["fall-s0", "fall-s1"]
    assert "duplicate_conversation_id" not in s.excluded


def test_across_session_trajectory_by_construction(
    sessions_study: tuple[Any, dict[str, Any], Path],
) -> None:
    _s, data, _out = sessions_study
    a = data["sessions"]
    assert a["pairs_with_several_sessions"] == 4 and a["pairs_with_one_session"] == 1
    overall = a["trajectories"]["overall"]
    assert overall["n"] == 4
    # rise +2 (improved >= 1), fall -0.5 with an unrepaired rupture in its later session
    # (declined), flat +0.1 (unchanged), thin: its first session was never scored ->
    # insufficient evidence, not unchanged.
    assert overall["counts"] == {
        "declined": 1,
        "unchanged": 1,
        "improved_lt1": 0,
        "improved_ge1": 1,
        "insufficient_evidence": 1,
    }
    by = a["by_session_number"]
    assert [b["session"] for b in by] == [1, 2, 3]
    # session 1 with evidence: rise 2, fall 4, flat 3 (thin's first has none)
    assert by[0]["overall"]["mean"] == pytest.approx(3.0) and by[0]["overall"]["n"] == 3
    assert by[0]["without_evidence"] == 1
    # session 2: rise 3, fall 3.5, flat 3.1, thin 3
    assert by[1]["overall"]["mean"] == pytest.approx((3 + 3.5 + 3.1 + 3) / 4)
    assert by[2]["overall"]["n"] == 1 and by[2]["overall"]["mean"] == pytest.approx(4.0)
    # last - first over the three pairs with both: +2, -0.5, +0.1
    assert a["last_minus_first"]["overall"]["mean"] == pytest.approx(1.6 / 3, abs=1e-4)
    assert a["last_minus_first"]["overall"]["n"] == 3


def test_tables_and_chart(sessions_study: tuple[Any, dict[str, Any], Path]) -> None:
    _s, _data, out = sessions_study
    md = (out / "summary.md").read_text(encoding="utf-8")
    assert "10 sessions of 5 pairs scored" in md
    assert "**Table 5. Within a session and across sessions" in md
    assert (
        "| Across sessions (last vs first session) | Overall | 25.0% (1) | 25.0% (1) | 0.0% (0) "
        "| 25.0% (1) | 25.0% (1) | 50.0% (2) |" in md
    )
    assert "| Within a session (late vs early third) | Overall |" in md
    assert "**Table 5b. Alliance by session number" in md
    assert "| Sessions (without evidence) | 3 (1) | 4 (0) | 1 (0) | 3 |" in md
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count('class="session-point"') == 3
    assert html.count('class="sess-seg"') == 10  # two bars x five categories
    payload = json.loads(html.split('id="pair-data">', 1)[1].split("</script>", 1)[0])
    rise = payload["rise"]
    assert [r["session_id"] for r in rise["sessions"]] == ["rise-s0", "rise-s1", "rise-s2"]
    assert [r["overall"] for r in rise["sessions"]] == [2.0, 3.0, 4.0]
    assert rise["across"] == {"category": "improved_ge1", "change": 2.0}
    assert payload["thin"]["across"]["category"] == "insufficient_evidence"
    assert payload["thin"]["sessions"][0]["overall"] is None
    assert "sessions" not in payload["single"] or len(payload["single"]["sessions"]) < 2


def test_without_session_ids_there_is_no_across_view(tmp_path: Path) -> None:
    from test_study_run import write_corpus as plain_corpus

    s = run_study(plain_corpus(tmp_path / "c.jsonl"), tmp_path / "out", scorer(), bootstrap=0)
    assert s.sessions is None and s.n_pairs == s.n_transcripts == 4
    md = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    assert "No pair has more than one session" in md
    data = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert data["sessions"] is None


def test_a_repeated_record_without_session_ids_is_still_a_duplicate(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    rec = {"conversation_id": "x", "messages": [dict(m) for m in session("x", 0, 3.0)]}
    for m in rec["messages"]:
        del m["session_id"]
    path.write_text(json.dumps(rec) + "\n" + json.dumps(rec) + "\n", encoding="utf-8")
    s = run_study(path, tmp_path / "out", scorer(), bootstrap=0)
    assert s.excluded.get("duplicate_conversation_id") == 1 and s.n_transcripts == 1


def test_the_live_board_keeps_a_pairs_sessions_in_order() -> None:
    async def feed() -> PairBoard:
        board = PairBoard(max_sessions=3)
        core = MonitorCore()
        sc = scorer()
        levels = [4.0, 3.5, 3.0, 2.0]
        msgs = [
            Message.model_validate({**m, "conversation_id": "p"})
            for k, lv in enumerate(levels)
            for m in session("p", k, lv, rupture=k == 3)
        ]

        async def drain(out: Any) -> None:
            events = list(out.events)
            for req in out.work:
                events.extend(core.apply(await score_or_unscored(sc, req), req))
            for ev in events:
                board(ev)

        for m in msgs:
            await drain(core.ingest(m))
        await drain(core.end_session("p", "explicit"))
        return board

    board = anyio.run(feed)
    view = board.view("p")
    assert view is not None
    rows = view["sessions"]
    # bounded to 3, the first session kept: s0, then the two latest
    assert [r["session_id"] for r in rows] == ["p-s0", "p-s2", "p-s3"]
    assert [r["overall"] for r in rows] == [4.0, 3.0, 2.0]
    assert view["across"] == {"category": "declined", "change": -2.0}
