"""Item-level results of `study`: the twelve items by phase (Table 1b) with the Holm correction,
and the score distributions per dimension and phase (Table 1c and its charts)."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path
from typing import Any, ClassVar

import pytest
from conftest import REPO
from test_study_run import conversation

from alliance_monitor import WindowRequest, WindowScore
from alliance_monitor._models import CONSTRUCTS, DimensionScores, MessagePattern, Role
from alliance_monitor.scoring import SyncScorer
from alliance_monitor.study import run_study
from alliance_monitor.study._items import BIN_EDGES, distribution, holm
from alliance_monitor.study._stats import t_ppf

ANNOMI_GZ = REPO / "tests" / "data" / "annomi.jsonl.gz"


class ItemScorer(SyncScorer):
    """G1 rises by half a level a phase, B4 falls by one, every other item stays at 3;
    pair "b" is a quarter level above pair "a" on every item, pair "c" half a level."""

    name = "items"
    OFFSET: ClassVar[dict[str, float]] = {"a": 0.0, "b": 0.25, "c": 0.5}

    def score_sync(self, request: WindowRequest) -> WindowScore:
        k = min(request.window_index, 2)
        off = self.OFFSET.get(request.conversation_id, 0.0)
        constructs = {c: 3.0 + off for ids in CONSTRUCTS.values() for c in ids}
        constructs["G1"] = 3.0 + off + 0.5 * k
        constructs["B4"] = 4.0 + off - 1.0 * k
        return WindowScore(
            constructs=constructs,
            scores=DimensionScores.from_constructs(constructs),
            confidence=0.6,
            messages=tuple(
                MessagePattern(id=m.id, passive=0.0, directive=0.0)
                for m in request.messages
                if m.role is Role.COUNSELOR
            ),
            scorer=self.name,
            **request.window_fields(),
        )


@pytest.fixture(scope="module")
def items_study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any], Path]:
    tmp = tmp_path_factory.mktemp("items")
    corpus = tmp / "c.jsonl"
    corpus.write_text(
        "".join(json.dumps(conversation(cid)) + "\n" for cid in ("a", "b", "c")),
        encoding="utf-8",
    )
    summary = run_study(corpus, tmp / "out", ItemScorer(), replay=False)
    data = json.loads((tmp / "out" / "summary.json").read_text(encoding="utf-8"))
    return summary, data, tmp / "out"


def test_holm_by_hand() -> None:
    # Sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> monotone
    # 0.02, 0.03, 0.06, 0.06; None is not a test and stays None.
    got = holm([0.01, 0.04, None, 0.03, 0.005])
    assert got == pytest.approx([0.03, 0.06, None, 0.06, 0.02])
    assert holm([0.5, 0.9]) == [1.0, 1.0]  # capped at 1
    assert holm([]) == []


def test_item_table_by_hand(items_study: tuple[Any, dict[str, Any], Path]) -> None:
    summary, data, _out = items_study
    items = data["items"]["by_item"]
    assert list(items) == [c for ids in CONSTRUCTS.values() for c in ids]
    assert data["items"]["pairs"] == summary.n_item_analysis == 3
    g1 = items["G1"]
    # early: 3, 3.25, 3.5 -> mean 3.25, sd 0.25; t(0.975, 2) = 4.303
    assert g1["early"]["mean"] == 3.25
    half = t_ppf(0.975, 2) * 0.25 / math.sqrt(3)
    assert g1["early"]["lo"] == pytest.approx(3.25 - half, abs=1e-4)
    assert g1["late_minus_early"]["mean"] == 1.0
    # every pair ranks the phases alike: Q = n (k - 1) = 6, W = 1, p = e^-3
    assert g1["friedman"]["chi2"] == pytest.approx(6.0)
    assert g1["friedman"]["kendall_w"] == pytest.approx(1.0)
    assert g1["friedman"]["p"] == pytest.approx(math.exp(-3), abs=1e-6)
    # Two items have a defined test (the ten flat ones are all ties: None): Holm multiplies
    # the smaller p by 2 (both are e^-3, so both become 2 e^-3).
    assert items["B4"]["p_holm"] == pytest.approx(2 * math.exp(-3), abs=1e-5)
    assert g1["p_holm"] == pytest.approx(2 * math.exp(-3), abs=1e-5)
    assert items["T2"]["friedman"]["p"] is None and items["T2"]["p_holm"] is None
    # B4 early 4, 4.25, 4.5 ... late 2, 2.25, 2.5: the mean's interval stays inside 1-5
    b4 = items["B4"]
    assert b4["early"]["hi"] <= 5.0 and b4["late_minus_early"]["mean"] == -2.0
    assert items["G1"]["dimension"] == "goal" and items["B4"]["label"] == "mutual trust"


def test_item_interval_is_bounded_to_the_scale(tmp_path: Path) -> None:
    class High(ItemScorer):
        OFFSET: ClassVar[dict[str, float]] = {"a": 0.0, "b": 1.0, "c": 1.0}

    corpus = tmp_path / "c.jsonl"
    corpus.write_text(
        "".join(json.dumps(conversation(cid)) + "\n" for cid in ("a", "b", "c")),
        encoding="utf-8",
    )
    run_study(corpus, tmp_path / "out", High(), replay=False)
    data = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    b4 = data["items"]["by_item"]["B4"]["early"]  # 4, 5, 5: the t interval reaches past 5
    assert b4["mean"] == pytest.approx(14 / 3, abs=1e-4)
    assert b4["hi"] == 5.0 and b4["lo"] >= 1.0


def test_item_table_and_distributions_in_the_markdown(
    items_study: tuple[Any, dict[str, Any], Path],
) -> None:
    _s, _data, out = items_study
    md = (out / "summary.md").read_text(encoding="utf-8")
    assert "**Table 1b. Alliance items by phase" in md
    assert "| G1 clear about the aims | 3.25 [" in md
    assert "| B4 mutual trust |" in md
    assert "Holm" in md and "twelve" in md
    assert "**Table 1c. Score distribution per dimension and phase" in md
    # Goal = mean of G1..G4: early (3 + 3 + 3 + 3) / 4 ... pair "a" early goal 3.0
    assert "| Goal | Early | 3 | 3.25 | 3.12–3.38 | 3.00–3.50 |" in md


def test_distribution_bins_and_quartiles() -> None:
    d = distribution("overall", "early", [1.0, 2.99, 3.0, 3.1, 5.0])
    assert len(d.counts) == len(BIN_EDGES) - 1 == 16
    assert d.counts[0] == 1  # 1.00-1.25
    assert d.counts[7] == 1  # 2.75-3.00 holds 2.99
    assert d.counts[8] == 2  # 3.00-3.25 holds 3.0 and 3.1
    assert d.counts[15] == 1  # the last bin is closed: 5.0
    assert d.quartiles == (1.0, 2.99, 3.0, 3.1, 5.0)
    assert distribution("goal", "late", []).quartiles is None


def test_distributions_in_json(items_study: tuple[Any, dict[str, Any], Path]) -> None:
    _s, data, _out = items_study
    dist = data["distributions"]
    assert dist["bin_edges"][0] == 1.0 and dist["bin_edges"][-1] == 5.0
    for dim in ("goal", "task", "bond", "overall"):
        for phase in ("early", "middle", "late"):
            cell = dist[dim][phase]
            assert cell["n"] == 3 and sum(cell["counts"]) == 3
    assert dist["goal"]["early"]["quartiles"]["median"] == 3.25


def test_report_draws_one_distribution_chart_per_dimension(
    items_study: tuple[Any, dict[str, Any], Path],
) -> None:
    _s, _data, out = items_study
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count('class="chart dist-chart"') == 4
    assert html.count('class="dist-median"') == 12  # 4 dimensions x 3 phases
    assert "Table 1b. Alliance items by phase" in html
    assert "Table 1c. Score distribution" in html


@pytest.mark.skipif(not ANNOMI_GZ.exists(), reason="tests/data/annomi.jsonl.gz not present")
def test_items_on_bundled_annomi_agree_with_the_dimensions(tmp_path: Path) -> None:
    from alliance_monitor.scoring._embedded import EmbeddedScorer

    corpus = tmp_path / "annomi.jsonl"
    corpus.write_bytes(gzip.decompress(ANNOMI_GZ.read_bytes()))
    s = run_study(corpus, tmp_path / "out", EmbeddedScorer(), replay=False)
    assert s.n_item_analysis == s.n_phase_analysis > 100
    assert [it.item for it in s.items] == [c for ids in CONSTRUCTS.values() for c in ids]
    for dim, ids in CONSTRUCTS.items():
        for phase in ("early", "middle", "late"):
            item_mean = sum(it.phase(phase).mean or 0 for it in s.items if it.item in ids) / 4
            assert s.phase_stats(dim).phase(phase).mean == pytest.approx(item_mean, abs=1e-3)
    # The Holm-adjusted p is never below the raw p, and is monotone in it.
    tested = sorted(
        (it.friedman.p_value, it.p_holm) for it in s.items if it.friedman.p_value is not None
    )
    assert all(adj is not None and adj >= raw for raw, adj in tested)
    assert [adj for _, adj in tested] == sorted(adj for _, adj in tested)
    for d in s.distributions:
        assert sum(d.counts) == d.n == s.n_phase_analysis
