"""Each newer table and figure of `study` and `evaluate --compare` on the bundled sample
(`alliance-monitor sample`: twelve conversations written for the project, with labels), with the
embedded scorer, the way a user first meets them. Constructed corpora with known answers are in
test_study_items / _link / _sessions / _ratings; here the point is that every table and chart is
there, well formed and consistent with summary.json, on real text."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from alliance_monitor.cli import main
from alliance_monitor.scoring._embedded import EmbeddedScorer
from alliance_monitor.study import run_study

SAMPLE = resources.files("alliance_monitor").joinpath("demo_data/sample.jsonl")


def _records() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def sample_study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any], Path]:
    """The sample's conversations grouped by counselor into pairs of sessions (each keeps its own
    ISO-8601 times, on different days), so the across-session view has something to show; text
    opted in."""
    tmp = tmp_path_factory.mktemp("sample")
    pairs: dict[str, list[dict[str, Any]]] = {}
    for rec in _records():
        who = rec["messages"][0].get("counselor_id") or rec["conversation_id"]
        pairs.setdefault(who, []).append(rec)
    lines = []
    for who, recs in pairs.items():
        for rec in recs:
            msgs = rec["messages"]
            lines.append(
                json.dumps(
                    {
                        "conversation_id": f"pair-{who}",
                        "session_id": rec["conversation_id"],
                        "messages": msgs,
                    }
                )
            )
    corpus = tmp / "sessions.jsonl"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = run_study(corpus, tmp / "out", EmbeddedScorer(), include_text=True, bootstrap=200)
    data = json.loads((tmp / "out" / "summary.json").read_text(encoding="utf-8"))
    return summary, data, tmp / "out"


def test_every_new_table_is_in_the_markdown(sample_study: tuple[Any, dict[str, Any], Path]) -> None:
    s, _data, out = sample_study
    md = (out / "summary.md").read_text(encoding="utf-8")
    for title in (
        "**Table 1b. Alliance items by phase",
        "**Table 1c. Score distribution per dimension and phase",
        "**Table 3c. Counselor patterns and low-alliance rolling windows",
        "**Table 5. Within a session and across sessions",
        "**Table 5b. Alliance by session number",
        "**Table 6. Counselors' ratings of the feedback",
        "**Table 6b. What followed the feedback",
    ):
        assert title in md, title
    assert s.n_transcripts == 12 and s.n_pairs == len({r.conversation_id for r in s.pairs})
    # Table 1b has twelve item rows, Table 1c twelve dimension x phase rows
    block = md.split("**Table 1b.", 1)[1].split("\n\n", 2)[1]
    assert len(block.splitlines()) == 2 + 12


def test_summary_json_agrees_with_the_summary(
    sample_study: tuple[Any, dict[str, Any], Path],
) -> None:
    s, data, _out = sample_study
    items = data["items"]["by_item"]
    assert len(items) == 12 and data["items"]["pairs"] == s.n_item_analysis
    for it in s.items:
        got = items[it.item]["early"]["mean"]
        assert got == (None if it.early.mean is None else round(it.early.mean, 4))
        lo, hi = items[it.item]["early"]["lo"], items[it.item]["early"]["hi"]
        assert lo is None or 1.0 <= lo <= hi <= 5.0
    for dim in ("goal", "task", "bond", "overall"):
        for phase in ("early", "middle", "late"):
            cell = data["distributions"][dim][phase]
            assert sum(cell["counts"]) == cell["n"] == s.n_phase_analysis
    link = data["pattern_alliance"]
    assert {(r["pattern"], r["low"]) for r in link["results"]} == {
        (p, d) for p in ("passive", "directive") for d in ("level", "lowest_third")
    }
    for r in link["results"]:
        t = r["table"]
        assert sum(t.values()) == r["windows"]
        assert r["odds_ratio"] is None or r["odds_ratio"] > 0
    assert link["abstained_windows"] >= 0
    sessions = data["sessions"]
    assert sessions is not None and sessions["pairs_with_several_sessions"] >= 1
    assert (
        sum(sessions["trajectories"]["overall"]["counts"].values())
        == (sessions["pairs_with_several_sessions"])
    )
    fb = data["feedback"]
    assert fb["ratings"]["n"] == 0 and [r["kind"] for r in fb["recovery"]] == [
        "passive",
        "directive",
        "decline",
    ]


def test_every_new_chart_is_in_the_report(sample_study: tuple[Any, dict[str, Any], Path]) -> None:
    _s, data, out = sample_study
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count('class="chart dist-chart"') == 4
    assert html.count('class="chart link-chart"') == 1
    assert html.count('class="chart sessions-chart"') == 1
    assert html.count('class="chart sessions-traj-chart"') == 1
    assert html.count('class="chart ratings-chart"') == 1
    n_exemplars = sum(len(v) for v in data["pattern_alliance"]["exemplars"].values())
    assert html.count('class="exemplar"') == n_exemplars
    views = json.loads(html.split('id="pair-data">', 1)[1].split("</script>", 1)[0])
    assert any(len(v.get("sessions") or []) == 2 for v in views.values())


def test_evaluate_compare_on_the_bundled_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two raters per session label (the writers' label and the same one level nearer 3), the
    embedded scorer beside its own saved output."""
    lines = []
    for rec in _records():
        labels = rec.get("labels") or {}
        for dim in ("goal", "task", "bond", "overall"):
            if isinstance(labels.get(dim), int | float):
                v = float(labels[dim])
                labels[dim] = [v, v + (v < 3) - (v > 3)]
        lines.append(json.dumps(rec))
    src = tmp_path / "raters.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    saved = tmp_path / "saved.jsonl"
    assert main(["evaluate", str(src), "--bootstrap", "0", "--save-scores", str(saved)]) == 0
    capsys.readouterr()
    rc = main(
        [
            "evaluate",
            str(src),
            "--json",
            "--bootstrap",
            "100",
            "--level",
            "session",
            "--compare",
            "embedded",
            "--compare",
            f"--scores {saved} --name saved",
        ]
    )
    assert rc == 0
    data = json.loads(capsys.readouterr().out)
    rows = data["table"]
    assert rows and all(r["values"][0] == r["values"][1] for r in rows)
    raters = [r["raters"] for r in data["variants"][0]["report"]["results"] if r["raters"]]
    assert raters and all(a["raters"] == 2 and a["n"] == 12 for a in raters)
    assert all(a["icc2_k"]["value"] is not None for a in raters)
