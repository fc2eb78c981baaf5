"""The pattern-alliance link of `study` (Table 3c): odds ratios with pair-resampled intervals,
the Cochran-Mantel-Haenszel test stratified by pair, abstained windows counted, and redacted
exemplars only with text opted in."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from alliance_monitor import WindowRequest
from alliance_monitor.study import run_study
from alliance_monitor.study._link import cmh, odds_ratio
from alliance_monitor.study._stats import chi2_sf
from alliance_monitor.testing import StaticScorer

PASSIVE = "ok sure"
EMAIL_TEXT = "you can write to me at sam.lee@example.org about it"

#: Which thirds (early, middle, late) of each pair have passive counselor replies.
PLAN: dict[str, tuple[bool, bool, bool]] = {
    "p1": (True, False, False),
    "p2": (False, False, True),
    "p3": (False, False, False),
    "p4": (True, True, True),
}


def conversation(cid: str, plan: tuple[bool, bool, bool]) -> dict[str, Any]:
    msgs = []
    for i in range(36):  # 18 exchanges: three phases of 6, and three rolling windows of 6
        third = i // 12
        if i % 2 == 0:
            text = PASSIVE if plan[third] else "what has that been like for you?"
            role = "counselor"
        else:
            text = EMAIL_TEXT if i == 1 else "I feel stuck at work"
            role = "client"
        msgs.append({"id": f"{cid}:{i}", "role": role, "text": text, "ts": 10.0 * i})
    return {"conversation_id": cid, "messages": msgs}


def _level(req: WindowRequest) -> float:
    # A window with passive replies is low (1.5), any other 3.5: the link holds by construction.
    return 1.5 if any(m.text == PASSIVE for m in req.messages) else 3.5


def scorer(abstain: set[str] | None = None) -> StaticScorer:
    def fail(req: WindowRequest) -> str | None:
        return "scorer_error" if abstain and req.conversation_id in abstain else None

    return StaticScorer(
        _level, passive=lambda t: 1.0 if t == PASSIVE else 0.0, fail=fail if abstain else None
    )


def write(path: Path, plans: dict[str, tuple[bool, bool, bool]]) -> Path:
    lines = [json.dumps(conversation(c, plan)) + "\n" for c, plan in plans.items()]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def test_odds_ratio_by_hand() -> None:
    assert odds_ratio((6.0, 4.0, 2.0, 8.0)) == pytest.approx(6.0)
    # an empty cell: 0.5 is added to all four
    assert odds_ratio((5.0, 0.0, 0.0, 7.0)) == pytest.approx(5.5 * 7.5 / 0.25)
    assert odds_ratio((0.0, 0.0, 3.0, 4.0)) is None  # no window with the pattern


def test_cmh_by_hand() -> None:
    # Stratum 1: E = 1.5, Var = 81/180; stratum 2: E = 2, Var = 72/180.
    r = cmh([(2.0, 1.0, 1.0, 2.0), (3.0, 0.0, 1.0, 2.0)])
    assert r.statistic == pytest.approx(2.25 / 0.85)
    assert r.p_value == pytest.approx(chi2_sf(2.25 / 0.85, 1))
    assert r.common_or == pytest.approx((4 / 6 + 6 / 6) / (1 / 6))
    assert r.informative_pairs == 2
    # A pair whose windows all have the pattern (or none) informs nothing.
    assert cmh([(3.0, 0.0, 0.0, 0.0), (0.0, 0.0, 1.0, 2.0)]).statistic is None


@pytest.mark.parametrize("replay", [True, False])
def test_link_in_the_study_by_construction(tmp_path: Path, replay: bool) -> None:
    corpus = write(tmp_path / "c.jsonl", PLAN)
    s = run_study(corpus, tmp_path / "out", scorer(), replay=replay, bootstrap=200)
    data = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    link = data["pattern_alliance"]
    assert link["unit"] == ("window" if replay else "phase")
    assert link["abstained_windows"] == 0
    passive = {r["low"]: r for r in link["results"] if r["pattern"] == "passive"}
    level = passive["level"]
    # p1 early, p2 late, p4 all three are passive and low; the 7 other windows neither.
    assert level["table"] == {
        "pattern_low": 5,
        "pattern_not_low": 0,
        "no_pattern_low": 0,
        "no_pattern_not_low": 7,
    }
    assert (level["windows"], level["pairs"]) == (12, 4)
    assert level["odds_ratio"] == pytest.approx(5.5 * 7.5 / 0.25, abs=1e-3)
    lo, hi = level["ci"]
    assert lo is not None and hi is not None and lo <= level["odds_ratio"] <= hi
    # Within pairs: only p1 and p2 inform (p3 never, p4 always passive). Each: a = 1, n = 3,
    # E = 1/3, Var = 4/18, so chi2 = (2 - 2/3)^2 / (8/18) = 4.
    assert level["cmh"]["chi2"] == pytest.approx(4.0)
    assert level["cmh"]["p"] == pytest.approx(chi2_sf(4.0, 1), abs=1e-6)
    assert level["cmh"]["informative_pairs"] == 2
    assert level["cmh"]["common_odds_ratio"] is None  # no discordant b*c term
    # The lowest third of the 12 windows (1.5) is the same split here.
    assert passive["lowest_third"]["threshold"] == 1.5
    assert passive["lowest_third"]["table"] == level["table"]
    # No directive reply anywhere: no estimate, never an invented one.
    directive = [r for r in link["results"] if r["pattern"] == "directive"]
    assert all(r["odds_ratio"] is None and r["cmh"]["p"] is None for r in directive)
    md = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    assert "**Table 3c. Counselor patterns and low-alliance" in md
    assert "| Passive | level ≤ 2 (evidence against) | 12 (4) | 100.0% (5) | 0.0% (0) | 165" in md
    assert s.link and s.link[0].pattern == "passive"
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert html.count('class="link-row"') == 2  # the two passive rows have an estimate
    assert "Table 3c." in html
    # Text stays out unless opted in.
    assert data["pattern_alliance"]["exemplars"] == {}
    for name in ("summary.json", "summary.md", "report.html"):
        assert "example.org" not in (tmp_path / "out" / name).read_text(encoding="utf-8")


def test_bootstrap_interval_resamples_pairs(tmp_path: Path) -> None:
    plans = {**PLAN, "p1b": PLAN["p1"], "p3b": PLAN["p3"], "p2b": PLAN["p2"]}
    corpus = write(tmp_path / "c.jsonl", plans)
    s1 = run_study(corpus, tmp_path / "a", scorer(), replay=False, bootstrap=300, seed=1)
    s2 = run_study(corpus, tmp_path / "b", scorer(), replay=False, bootstrap=300, seed=1)
    s3 = run_study(corpus, tmp_path / "c", scorer(), replay=False, bootstrap=0)
    r1, r2, r3 = s1.link[0], s2.link[0], s3.link[0]
    assert (r1.lo, r1.hi) == (r2.lo, r2.hi)  # a fixed seed repeats
    assert r1.n_boot_defined == 300
    assert r3.lo is None and r3.hi is None and r3.odds_ratio == r1.odds_ratio
    assert r1.lo is not None and r1.hi is not None and r1.lo < r1.hi
    assert math.isfinite(r1.hi)


def test_abstained_windows_are_counted_and_left_out(tmp_path: Path) -> None:
    corpus = write(tmp_path / "c.jsonl", PLAN)
    s = run_study(corpus, tmp_path / "out", scorer(abstain={"p4"}), replay=False)
    assert s.link_abstained == 3  # p4's three phase windows
    level = next(r for r in s.link if r.pattern == "passive" and r.definition == "level")
    assert level.table == (2.0, 0.0, 0.0, 7.0) and level.n_pairs == 3
    md = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    assert "3 windows the scorer abstained on" in md


def test_exemplars_with_include_text_are_redacted(tmp_path: Path) -> None:
    corpus = write(tmp_path / "c.jsonl", PLAN)
    s = run_study(corpus, tmp_path / "out", scorer(), include_text=True, bootstrap=50)
    passive = s.exemplars["passive"]
    assert 1 <= len(passive) <= 3
    assert len({e.conversation_id for e in passive}) == len(passive)  # one per pair
    assert s.exemplars["directive"] == []
    roles = [r for r, _ in passive[0].turns]
    assert "counselor" in roles and roles[0] == "client"
    data = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    turns = data["pattern_alliance"]["exemplars"]["passive"][0]["turns"]
    assert any(t["text"] == PASSIVE for t in turns)
    out = tmp_path / "out"
    texts = [(out / n).read_text(encoding="utf-8") for n in ("summary.json", "report.html")]
    assert all("example.org" not in t for t in texts)
    p1 = next((e for e in passive if e.conversation_id == "p1"), None)
    if p1 is not None and p1.message_id == "p1:2":
        assert "[EMAIL]" in p1.turns[0][1]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count('class="exemplar"') == len(passive)
