"""The study's newer tables and figures in a real browser (headless Debian chromium, as in
test_report_browser.py) at 1024, 1280 and 1920 px: the item table and distributions, the
pattern-alliance link and its exemplars, sessions over time, the feedback loop, in report.html
and in the supervisor view. No console error, no request but the page's own, nothing sticking
out of its panel (test_layout_browser.OVERFLOW_JS), and the elements each figure should have.
ALLIANCE_MONITOR_SCREENSHOT_DIR keeps the screenshots."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from test_layout_browser import OVERFLOW_JS, shoot
from test_report_browser import (  # noqa: F401 - fixtures
    browser,
    open_report,
    run_study,
)
from test_supervisor import Live, live  # noqa: F401 - fixtures

from alliance_monitor import WindowRequest
from alliance_monitor.study import FeedbackRating, FeedbackRatings
from alliance_monitor.testing import StaticScorer

WIDTHS = (1024, 1280, 1920)
DAY = 86400.0
PASSIVE = "ok sure"
#: pair -> per session, whether its counselor is passive (low alliance) in the middle third.
PLAN = {
    "multi": [False, True, True],
    "better": [True, False],
    "steady": [False, False],
    "one": [True],
}


def _messages(cid: str) -> list[dict[str, Any]]:
    out = []
    for k, passive in enumerate(PLAN[cid]):
        for i in range(36):
            counselor = i % 2 == 0
            if counselor:
                text = PASSIVE if passive and 12 <= i < 24 else "what has that been like?"
            else:
                text = "I sent it to sam@example.org yesterday" if i == 11 else "It was hard"
            out.append(
                {
                    "id": f"{cid}:s{k}:{i}",
                    "role": "counselor" if counselor else "client",
                    "text": text,
                    "ts": 1.7e9 + k * 7 * DAY + 30.0 * i,
                    "session_id": f"{cid}-s{k}",
                }
            )
    return out


def _scorer() -> StaticScorer:
    def level(req: WindowRequest) -> float:
        return 1.8 if any(m.text == PASSIVE for m in req.messages) else 3.4

    return StaticScorer(level, passive=lambda t: 1.0 if t == PASSIVE else 0.0)


@pytest.fixture(scope="module")
def full_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("full")
    corpus = tmp / "c.jsonl"
    corpus.write_text(
        "".join(json.dumps({"conversation_id": c, "messages": _messages(c)}) + "\n" for c in PLAN),
        encoding="utf-8",
    )
    run_study(corpus, tmp / "first", _scorer(), bootstrap=0)
    html = (tmp / "first" / "report.html").read_text(encoding="utf-8")
    views = json.loads(html.split('id="pair-data">', 1)[1].split("</script>", 1)[0])
    ids = [
        (v["id"], m["feedback_id"])
        for v in views.values()
        for m in v["markers"]
        if m.get("feedback_id")
    ]
    assert ids
    ratings = tmp / "ratings.jsonl"
    ratings.write_text(
        "".join(
            json.dumps(
                {
                    "feedback_id": f,
                    "conversation_id": c,
                    "ratings": {"understanding": 4, "directions": 3, "willingness": 5},
                    "comment": "do not show this comment",
                }
            )
            + "\n"
            for c, f in ids[::2]
        ),
        encoding="utf-8",
    )
    run_study(corpus, tmp / "out", _scorer(), include_text=True, bootstrap=200, ratings=ratings)
    return tmp / "out" / "report.html"


@pytest.mark.parametrize("width", WIDTHS)
def test_new_report_sections(
    open_report: Any,  # noqa: F811
    full_report: Path,
    width: int,
    tmp_path: Path,
) -> None:
    p = open_report(full_report, width=width)
    page = p.page
    assert p.console_errors == []
    assert p.foreign_requests() == []
    shoot(page, f"study-full-{width}", tmp_path)
    problems = page.evaluate(OVERFLOW_JS, ["main > section", "header"])
    assert problems == [], problems
    # 1b / 1c: items and distributions
    assert page.locator("#h-items").count() == 1
    assert page.locator("svg.dist-chart").count() == 4
    assert page.locator(".dist-median").count() == 12
    # 3c: the link, with exemplars (text opted in, redacted)
    assert page.locator("svg.link-chart").count() == 1
    assert page.locator(".link-row").count() >= 1
    exemplars = page.locator("li.exemplar")
    assert 1 <= exemplars.count() <= 3
    text = page.locator("#patterns").inner_text()
    assert "sam@example.org" not in text
    # 4: sessions over time
    assert page.locator("svg.sessions-chart").count() == 1
    assert page.locator(".session-point").count() == 3
    assert page.locator("rect.sess-seg").count() == 10
    # 5: the feedback loop, beside the paper's ratings
    assert page.locator("svg.ratings-chart .rating-mean").count() == 3
    assert page.locator("svg.ratings-chart .paper-mean").count() == 3
    assert "3.43" in page.locator("#feedback").inner_text()
    assert "do not show this comment" not in page.content()
    # the pair view of a pair with three sessions
    page.locator('button.spark[data-pair="multi"]').click()
    page.wait_for_selector('#pair-view .pv[data-pair="multi"]')
    rows = page.locator("#pair-view .pv-sessions tbody tr")
    assert rows.count() == 3
    assert re.search(
        r"Across sessions \(last vs first session\): (declined|unchanged|improved)",
        page.locator("#pair-view .pv-across").inner_text(),
    )
    assert page.locator('#pair-view .fb-state[data-state="rated"]').count() >= 1
    shoot(page, f"study-full-pair-{width}", tmp_path)
    problems = page.evaluate(OVERFLOW_JS, ["dialog", "#pair-view .pv > *"])
    assert problems == [], problems


def _supervisor_messages(cid: str) -> list[dict[str, Any]]:
    return [{**m, "conversation_id": cid} for m in _messages("multi")]


@pytest.mark.parametrize("width", WIDTHS)
def test_supervisor_sessions_and_feedback_loop(
    live: Live,  # noqa: F811
    browser: Any,  # noqa: F811
    width: int,
    tmp_path: Path,
) -> None:
    if live.board.view("sessions-pair") is None:
        live.feed(_supervisor_messages("sessions-pair"))
        view = live.board.view("sessions-pair")
        assert view is not None
        api = FeedbackRatings(board=live.board)
        for m in view["markers"]:
            if m.get("feedback_id"):
                api.record_rating(
                    FeedbackRating(m["feedback_id"], "sessions-pair", 4, 3, 5, comment="hidden")
                )
    page = browser.new_page(viewport={"width": width, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{live.base}/supervisor/")
        page.wait_for_selector('#pairs-body tr[data-pair="sessions-pair"]')
        page.locator('#pairs-body tr[data-pair="sessions-pair"]').click()
        page.wait_for_selector('#pair-view .pv[data-pair="sessions-pair"]')
        # two sessions ended (a new session id ends the one before); the third is open
        assert page.locator("#pair-view .pv-sessions tbody tr").count() == 2
        page.locator("#fb-loop summary").click()
        page.wait_for_selector("#fb-loop .fb-ratings tbody tr")
        assert page.locator("#fb-loop .fb-ratings tbody tr").count() == 3
        assert page.locator("#fb-loop .fb-recovery tbody tr").count() == 3
        assert "hidden" not in page.locator("#fb-loop").inner_text()
        shoot(page, f"supervisor-sessions-{width}", tmp_path)
        problems = page.evaluate(OVERFLOW_JS, ["main section", ".layout > section", "header"])
        assert problems == [], problems
        assert errors == []
    finally:
        page.close()
