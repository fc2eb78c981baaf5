"""The supervisor view and report.html keep their layout at common screen widths.

Headless chromium (see test_report_browser.py) opens each page at 1024, 1280 and 1920 px, takes a
screenshot, and measures: no horizontal page scroll, panels side by side never overlap, and no
element sticks out of its panel (an element inside a scrolling or clipping box counts as that
box). The supervisor view is checked with its pair view open, where the pairs table used to
spill over the "Pair view" panel.

Trajectory words have one meaning everywhere: "trajectory", declined, unchanged and improved
compare the late third of a session with its early third; the live comparison of the latest window
with the pair's start is "lower / higher / the same", and the concern badge for it says "Below
its start" (cards once said "FALLING TRAJECTORY" above "improved < 1 level").
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from test_report_browser import (  # noqa: F401 - fixtures
    browser,
    open_report,
    small_report,
)
from test_supervisor import Live, _messages, live  # noqa: F401 - fixtures

WIDTHS = (1024, 1280, 1920)
TRAJECTORY_WORDS = re.compile(r"trajector|declined|improved|falling", re.I)
SHOTS = os.environ.get("ALLIANCE_MONITOR_SCREENSHOT_DIR")

#: Returns what overflows: [[panel, element, how], ...]; empty when the layout holds.
OVERFLOW_JS = r"""
(panelSelectors) => {
  const out = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > window.innerWidth + 1) {
    out.push(["page", "html", `scrollWidth ${doc.scrollWidth} > ${window.innerWidth}`]);
  }
  const name = (el) => el.id ? `#${el.id}` : el.tagName.toLowerCase() +
      (el.className && typeof el.className === "string" ? "." + el.className.split(" ")[0] : "");
  const panels = panelSelectors.flatMap((s) => [...document.querySelectorAll(s)])
      .filter((p) => p.getClientRects().length);
  for (const panel of panels) {
    const box = panel.getBoundingClientRect();
    for (const el of panel.querySelectorAll("*")) {
      const r = el.getBoundingClientRect();
      if (!r.width || !r.height) continue;
      let clipped = false;
      for (let a = el.parentElement; a && a !== panel; a = a.parentElement) {
        if (getComputedStyle(a).overflowX !== "visible") { clipped = true; break; }
      }
      if (clipped) continue;  // its scrolling/clipping ancestor is measured instead
      if (r.right > box.right + 1 || r.left < box.left - 1) {
        out.push([name(panel), name(el),
                  `[${Math.round(r.left)}, ${Math.round(r.right)}] outside ` +
                  `[${Math.round(box.left)}, ${Math.round(box.right)}]`]);
      }
    }
  }
  for (let i = 0; i < panels.length; i++) {
    for (let j = i + 1; j < panels.length; j++) {
      const a = panels[i].getBoundingClientRect(), b = panels[j].getBoundingClientRect();
      const overlap = a.left < b.right - 1 && b.left < a.right - 1 &&
                      a.top < b.bottom - 1 && b.top < a.bottom - 1;
      if (overlap && !panels[i].contains(panels[j]) && !panels[j].contains(panels[i])) {
        out.push([name(panels[i]), name(panels[j]), "panels overlap"]);
      }
    }
  }
  return out.slice(0, 20);
}
"""


def shoot(page: Any, name: str, tmp_path: Path) -> None:
    folder = Path(SHOTS) if SHOTS else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("width", WIDTHS)
def test_supervisor_view_layout(
    live: Live,  # noqa: F811
    browser: Any,  # noqa: F811
    width: int,
    tmp_path: Path,
) -> None:
    if live.board.view("falling") is None:
        live.feed([m for cid in ("falling", "passive", "calm") for m in _messages(cid, 0, 38)])
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.goto(f"{live.base}/supervisor/")
        page.wait_for_selector("#pairs-body tr")
        page.locator('#pairs-body tr[data-pair="falling"]').click()
        page.wait_for_selector('#pair-view .pv[data-pair="falling"]')
        shoot(page, f"supervisor-{width}", tmp_path)
        problems = page.evaluate(OVERFLOW_JS, ["main section", ".layout > section"])
        assert problems == [], problems
        # The two panels sit side by side at these widths, the table inside the first.
        boxes = page.evaluate("""() => [...document.querySelectorAll('.layout > section')]
            .map(s => s.getBoundingClientRect().toJSON())""")
        assert len(boxes) == 2 and boxes[0]["right"] <= boxes[1]["left"]
        table = page.locator("#pairs-table").bounding_box()
        assert table["x"] + table["width"] <= boxes[0]["right"] + 1
        vs_start = page.locator("#pairs-body tr td:nth-child(5)").all_inner_texts()
        assert vs_start and all(
            re.fullmatch(r"(\d\.\d\d (lower|higher)|the same|n/a)", t.replace("\n", " "))
            for t in vs_start
        ), vs_start
        words = " ".join(
            [
                page.locator("#pairs-table thead").inner_text(),
                *page.locator("#pairs-table .badge").all_inner_texts(),
                *vs_start,
            ]
        )
        assert not TRAJECTORY_WORDS.search(words), words  # (one pair is *named* "falling")
        meta = page.locator("#pair-view .pv-meta").inner_text()
        assert "latest window vs its start: 2.00 lower" in meta
    finally:
        page.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_report_layout(
    open_report: Any,  # noqa: F811
    small_report: Path,  # noqa: F811
    width: int,
    tmp_path: Path,
) -> None:
    p = open_report(small_report, width=width)
    page = p.page
    shoot(page, f"report-{width}", tmp_path)
    problems = page.evaluate(OVERFLOW_JS, ["main > section", "header"])
    assert problems == [], problems
    cards = page.locator("button.spark").evaluate_all(
        "bs => bs.map(b => [b.querySelector('.badge').textContent,"
        " b.querySelector('.traj').textContent])"
    )
    assert cards
    for badge, caption in cards:
        assert not TRAJECTORY_WORDS.search(badge), badge
        assert re.fullmatch(
            r"late vs early: (declined|unchanged|improved [<≥] 1 level) "
            r"\([+−]\d\.\d\d\)",
            caption,
        ), caption
    page.locator("button.spark").first.click()
    page.wait_for_selector("#pair-view .pv")
    shoot(page, f"report-pair-{width}", tmp_path)
    problems = page.evaluate(OVERFLOW_JS, ["dialog", "#pair-view .pv > *"])
    assert problems == [], problems
    meta = page.locator("#pair-view .pv-meta").inner_text()
    assert "trajectory (late vs early third): " in meta
    assert not re.search(r"vs its start: (declined|unchanged|improved)", meta)
