"""Counselors' ratings of feedback: the record, its durable store, the summary beside the
paper's figures, the recovery figure, the live board, and Table 6 of `study`."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from test_study_link import PLAN, scorer, write

from alliance_monitor.study import (
    FeedbackDelivery,
    FeedbackRating,
    FeedbackRatings,
    InvalidRating,
    PairBoard,
    RatingStore,
    parse_feedback_record,
    run_study,
)
from alliance_monitor.study._ratings import read_feedback_file, summarize_ratings
from alliance_monitor.study._recovery import FeedbackEvent, recovery

SECRET_COMMENT = "the client reminds me of my brother zebra-7731"


def rating(
    fid: str = "evt_1", cid: str = "p1", u: int = 4, d: int = 3, w: int = 5
) -> dict[str, Any]:
    return {
        "type": "rating",
        "feedback_id": fid,
        "conversation_id": cid,
        "ratings": {"understanding": u, "directions": d, "willingness": w},
        "comment": SECRET_COMMENT,
        "counselor_id": "c-1",
        "ts": 1718000000,
    }


# ---------------------------------------------------------------------- the record
def test_parse_a_rating_and_a_delivery() -> None:
    r = parse_feedback_record(rating())
    assert isinstance(r, FeedbackRating)
    assert r.scores() == {"understanding": 4, "directions": 3, "willingness": 5}
    assert r.comment == SECRET_COMMENT and SECRET_COMMENT not in repr(r)
    d = parse_feedback_record({"type": "delivery", "feedback_id": "evt_2", "conversation_id": "p"})
    assert isinstance(d, FeedbackDelivery) and d.ts is None
    # "type" defaults to a rating; a score written 4.0 is 4
    r2 = parse_feedback_record({**rating(u=4), "type": None} | {"type": "rating"})
    assert isinstance(r2, FeedbackRating)


@pytest.mark.parametrize(
    ("change", "reason", "field"),
    [
        (
            {"ratings": {"understanding": 6, "directions": 3, "willingness": 5}},
            "score_out_of_range",
            "understanding",
        ),
        (
            {"ratings": {"understanding": 0, "directions": 3, "willingness": 5}},
            "score_out_of_range",
            "understanding",
        ),
        (
            {"ratings": {"understanding": 3.5, "directions": 3, "willingness": 5}},
            "bad_score",
            "ratings.understanding",
        ),
        (
            {"ratings": {"understanding": True, "directions": 3, "willingness": 5}},
            "bad_score",
            "ratings.understanding",
        ),
        (
            {"ratings": {"understanding": 3, "directions": 3}},
            "missing_field",
            "ratings.willingness",
        ),
        ({"ratings": None}, "missing_field", "ratings"),
        ({"feedback_id": ""}, "bad_id", "feedback_id"),
        ({"conversation_id": None}, "missing_field", "conversation_id"),
        ({"type": "like"}, "unknown_type", "type"),
        ({"ts": "yesterday"}, "bad_timestamp", "ts"),
        ({"comment": 7}, "bad_comment", "comment"),
        ({"comment": "x" * 4001}, "comment_too_long", "comment"),
    ],
)
def test_refusals_name_the_field_never_the_value(
    change: dict[str, Any], reason: str, field: str
) -> None:
    with pytest.raises(InvalidRating) as info:
        parse_feedback_record({**rating(), **change})
    assert info.value.reason == reason and info.value.field == field
    assert SECRET_COMMENT not in str(info.value) and "xxxx" not in str(info.value)
    with pytest.raises(InvalidRating, match="not_an_object"):
        parse_feedback_record([1, 2])


# ---------------------------------------------------------------------- the store
def test_store_is_durable_private_and_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "ratings.db"
    store = RatingStore(f"sqlite:///{path}")
    r = parse_feedback_record(rating())
    assert isinstance(r, FeedbackRating)
    assert store.add_rating(r) is True
    assert store.add_rating(r) is False  # a retry: one rating per feedback item and counselor
    assert store.add_delivery(FeedbackDelivery("evt_9", "p2", 5.0)) is True
    assert store.add_delivery(FeedbackDelivery("evt_9", "p2", 6.0)) is False
    store.close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = RatingStore(str(path))
    [back] = list(again.ratings())
    assert back.scores() == r.scores() and back.comment == SECRET_COMMENT
    # a rating is also a delivery of its feedback item
    assert {d.feedback_id for d in again.deliveries()} == {"evt_1", "evt_9"}
    assert again.counts() == {"ratings": 1, "deliveries": 2}
    again.close()
    # study reads the same file read-only
    rs, ds, refused = read_feedback_file(str(path))
    assert len(rs) == 1 and len(ds) == 2 and not refused


def test_summary_beside_the_paper_and_bounded_to_the_scale() -> None:
    rows = [
        {"understanding": 5, "directions": 4, "willingness": 5},
        {"understanding": 5, "directions": 2, "willingness": 5},
        {"understanding": 4, "directions": 3, "willingness": 5},
    ]
    s = summarize_ratings(rows)
    u = s.means["understanding"]
    assert u.mean == pytest.approx(14 / 3) and u.hi == 5.0 and u.lo is not None and u.lo >= 1.0
    assert s.means["directions"].mean == 3.0
    js = s.to_json()
    assert js["n"] == 3
    assert js["questions"]["understanding"]["paper_mean"] == 3.43
    assert js["questions"]["directions"]["paper_mean"] == 3.49
    assert js["questions"]["willingness"]["paper_mean"] == 3.74
    assert js["questions"]["willingness"]["counts"] == {"5": 3}
    assert js["questions"]["willingness"]["ci"] == [5.0, 5.0]  # no spread: a zero-width interval


def test_api_counts_and_tells_the_board(caplog: pytest.LogCaptureFixture) -> None:
    board = PairBoard()
    api = FeedbackRatings(board=board)
    caplog.set_level(logging.DEBUG, logger="alliance_monitor")
    first = parse_feedback_record(rating())
    assert isinstance(first, FeedbackRating)
    assert api.record(first) is True
    assert api.record(first) is False
    assert api.record(FeedbackDelivery("evt_5", "p9")) is True
    api.refuse("bad_score")
    fams = {name: samples for name, _kind, _text, samples in api.metric_families()}
    assert fams["feedback_ratings_total"] == [({}, 1)]
    assert fams["feedback_deliveries_total"] == [({}, 1)]
    assert fams["feedback_ratings_duplicate_total"] == [({}, 1)]
    assert fams["feedback_ratings_rejected_total"] == [({"reason": "bad_score"}, 1)]
    scores = dict((tuple(lab.values()), v) for lab, v in fams["feedback_rating_scores_total"])
    assert scores[("understanding", "4")] == 1 and scores[("willingness", "5")] == 1
    assert sum(scores.values()) == 3 and len(scores) == 15
    loop = board.feedback_loop()
    assert loop["ratings"]["n"] == 1 and loop["delivered"] == 2
    assert SECRET_COMMENT not in json.dumps(loop)
    assert SECRET_COMMENT not in caplog.text
    api.close()


# ---------------------------------------------------------------------- recovery
def test_recovery_by_hand() -> None:
    windows = {
        "a": [(0, 3.0), (1, 2.0), (2, 2.5), (3, 3.5)],  # pattern at 1, delivered: +1.0
        "b": [(0, 3.0), (1, 2.0), (2, 2.0), (3, 2.5)],  # pattern at 1, no feedback: +0.25
        "c": [(0, 3.0), (1, 2.0), (2, 2.2)],  # pattern at 1, one window after: not measurable
        "d": [(0, 3.0), (1, 2.0), (2, 3.0), (3, 3.0), (4, 2.0), (5, 2.0), (6, 2.0)],
    }
    events = {
        "a": [FeedbackEvent("a1", "passive", 1)],
        "b": [FeedbackEvent("b1", "passive", 1)],
        "c": [FeedbackEvent("c1", "passive", 1)],
        # d: delivered at 1 (+1.0); its later passive at 4 was not delivered but came after
        # delivered feedback: in neither group
        "d": [FeedbackEvent("d1", "passive", 1), FeedbackEvent("d4", "passive", 4)],
    }
    rows = {r.kind: r for r in recovery(windows, events, {"a1", "d1"}, n_boot=200)}
    p = rows["passive"]
    assert p.delivered.n == 2 and p.delivered.mean == pytest.approx(1.0)
    assert p.control.n == 1 and p.control.mean == pytest.approx(0.25)
    assert p.difference == pytest.approx(0.75)
    assert p.not_measurable == {"delivered": 0, "no_feedback_yet": 1}
    assert p.after_feedback == 1
    assert p.lo is None and p.hi is None  # one control pair: no interval
    assert rows["directive"].delivered.n == 0 and rows["directive"].difference is None


# ---------------------------------------------------------------------- study, Table 6
def _feedback_ids(out: Path) -> list[tuple[str, str]]:
    html = (out / "report.html").read_text(encoding="utf-8")
    views = json.loads(html.split('id="pair-data">', 1)[1].split("</script>", 1)[0])
    return [
        (v["id"], m["feedback_id"])
        for v in views.values()
        for m in v["markers"]
        if m.get("feedback_id")
    ]


def test_study_table_6_from_a_ratings_file(tmp_path: Path) -> None:
    plans = {**PLAN, **{f"q{i}": PLAN["p1"] for i in range(4)}}
    corpus = write(tmp_path / "c.jsonl", plans)
    run_study(corpus, tmp_path / "first", scorer(), bootstrap=0)
    ids = _feedback_ids(tmp_path / "first")
    assert ids and all(f.startswith("evt_") for _, f in ids)
    rated = ids[: len(ids) // 2]
    lines = [json.dumps(rating(f, c, 5, 4, 3)) for c, f in rated]
    lines.append(json.dumps(rating("evt_elsewhere", "not-in-this-corpus")))
    lines.append("{not json")
    lines.append(json.dumps({**rating(), "ratings": {"understanding": 9}}))
    lines.append(
        json.dumps({"type": "delivery", "feedback_id": ids[-1][1], "conversation_id": ids[-1][0]})
    )
    path = tmp_path / "ratings.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    s = run_study(corpus, tmp_path / "out", scorer(), bootstrap=100, ratings=path)
    fb = s.feedback
    assert fb is not None
    assert fb["ratings"]["n"] == len(rated)
    q = fb["ratings"]["questions"]
    assert (q["understanding"]["mean"], q["directions"]["mean"], q["willingness"]["mean"]) == (
        5.0,
        4.0,
        3.0,
    )
    assert fb["source"] == {
        "file": "ratings.jsonl",
        "ratings": len(rated),
        "deliveries": 1,
        "other_pairs": 1,
        "refused": {"invalid_json": 1, "missing_field": 1},
    }
    assert fb["delivered"] == len(rated) + 1
    passive = next(r for r in fb["recovery"] if r["kind"] == "passive")
    n_delivered = passive["delivered"]["n"] + passive["not_measurable"]["delivered"]
    assert n_delivered >= 1
    out = tmp_path / "out"
    md = (out / "summary.md").read_text(encoding="utf-8")
    assert "**Table 6. Counselors' ratings of the feedback" in md
    assert (
        f"| It helped me understand the alliance | {len(rated)} | 5.00 [5.00, 5.00] | 3.43 |" in md
    )
    assert "**Table 6b. What followed the feedback" in md
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count('class="rating-mean"') == 3 and html.count('class="paper-mean"') == 3
    views = json.loads(html.split('id="pair-data">', 1)[1].split("</script>", 1)[0])
    states = [m for v in views.values() for m in v["markers"] if m.get("rating")]
    assert len(states) == len(rated)
    for name in ("summary.json", "summary.md", "report.html"):
        assert "zebra-7731" not in (out / name).read_text(encoding="utf-8"), name
    data = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert data["feedback"]["ratings"]["n"] == len(rated)


def test_study_without_ratings_still_shows_the_no_feedback_course(tmp_path: Path) -> None:
    corpus = write(tmp_path / "c.jsonl", PLAN)
    s = run_study(corpus, tmp_path / "out", scorer(), bootstrap=0)
    assert s.feedback is not None and s.feedback["source"] == {"file": None}
    assert s.feedback["ratings"]["n"] == 0
    md = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    assert "No ratings file was given" in md
    s2 = run_study(corpus, tmp_path / "out2", scorer(), bootstrap=0, replay=False)
    assert s2.feedback is None
