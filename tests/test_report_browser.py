"""report.html in a real headless browser (Debian's chromium, driven by playwright).

Install the browser with `scripts/install-browser.sh` (never `playwright install`, which
downloads). Without chromium or playwright these tests skip, unless
ALLIANCE_MONITOR_REQUIRE_BROWSER=1 (as in CI), where they fail instead.
Set ALLIANCE_MONITOR_UPDATE_SCREENSHOT=1 to refresh docs/report-screenshot.png from AnnoMI.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import ANNOMI, NO_ANNOMI, REPO
from test_study_run import scorer, write_corpus

from alliance_monitor.study import StudySummary
from alliance_monitor.study import run_study as _run_study

CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-gpu",
]


def _need_browser() -> Any:
    required = os.environ.get("ALLIANCE_MONITOR_REQUIRE_BROWSER") == "1"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if required:
            raise
        pytest.skip("playwright is not installed: run scripts/install-browser.sh")
    if not Path(CHROMIUM).exists():
        if required:
            pytest.fail(f"{CHROMIUM} missing: run scripts/install-browser.sh")
        pytest.skip(f"{CHROMIUM} missing: run scripts/install-browser.sh")
    return sync_playwright


def run_study(*args: Any, **kwargs: Any) -> StudySummary:
    """`run_study` in a worker thread: playwright's sync API keeps an event loop running in
    this one, and `run_study` starts its own (inside a loop, use `run_study_async`)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(_run_study, *args, **kwargs).result()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_playwright = _need_browser()
    started = time.perf_counter()
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        print(f"chromium launched in {time.perf_counter() - started:.2f}s")
        yield b
        b.close()


@dataclass
class Page:
    page: Any
    url: str
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def foreign_requests(self) -> list[str]:
        return [u for u in self.requests if u != self.url]


@pytest.fixture
def open_report(browser: Any) -> Iterator[Any]:
    pages: list[Any] = []

    def _open(path: Path, width: int = 1200) -> Page:
        page = browser.new_page(viewport={"width": width, "height": 900})
        pages.append(page)
        p = Page(page, path.resolve().as_uri())
        page.on("console", lambda m: p.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: p.console_errors.append(str(e)))
        page.on("request", lambda r: p.requests.append(r.url))
        page.goto(p.url)
        page.wait_for_load_state("load")
        return p

    yield _open
    for page in pages:
        page.close()


@pytest.fixture(scope="module")
def small_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("report")
    run_study(write_corpus(tmp / "corpus.jsonl"), tmp / "out", scorer())
    return tmp / "out" / "report.html"


def test_report_renders_offline_with_the_right_elements(
    open_report: Any, small_report: Path, tmp_path: Path
) -> None:
    p = open_report(small_report)
    page = p.page
    assert p.console_errors == []
    assert p.foreign_requests() == []
    assert page.locator("button.spark").count() == 4  # one sparkline per pair
    assert page.locator(".spark-svg polyline").count() == 4
    assert page.locator(".phase-point").count() == 12  # 4 dimensions x 3 phases
    assert page.locator(".ci-whisker").count() == 12
    assert page.locator("rect.traj-seg").count() == 20  # 4 dimensions x 5 categories
    # Every pair sits on level 3: one level group (2 bars); three terciles (6 bars).
    assert page.locator('rect.pattern-bar[data-kind="level"]').count() == 2
    assert page.locator('rect.pattern-bar[data-kind="tercile"]').count() == 6
    # Pairs in order of concern, with the concern in words (not colour alone).
    assert page.locator("button.spark").evaluate_all("bs => bs.map(b => b.dataset.pair)") == [
        "risk",
        "down",
        "flat",
        "up",
    ]
    assert "Safety signal" in (page.locator("button.spark").first.text_content() or "")
    # Segment widths are the shares: overall "unchanged" is half the bar.
    widths = page.locator('rect.traj-seg[data-dim="overall"]').evaluate_all(
        "rs => rs.map(r => r.getBBox().width)"
    )
    assert widths[1] == pytest.approx(sum(widths) / 2, abs=0.2)
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_clicking_a_sparkline_opens_the_pair_view(
    open_report: Any, small_report: Path, tmp_path: Path
) -> None:
    p = open_report(small_report)
    page = p.page
    assert not page.locator("#pair-dialog").evaluate("d => d.open")
    page.locator('button.spark[data-pair="down"]').click()
    page.wait_for_selector("#pair-view .pv")
    assert page.locator("#pair-dialog").evaluate("d => d.open")
    view = page.locator("#pair-view")
    assert view.locator(".pv-id").inner_text() == "down"
    assert view.locator(".pv-dim").count() == 4  # goal, task, bond, overall
    assert view.locator(".pv-point").count() == 12  # 4 dimensions x 3 windows
    # Four declines (one per dimension) in the same window: one glyph, four listed events.
    assert view.locator('.pv-chart .pv-marker[data-kind="decline"]').count() == 1
    assert view.locator('.pv-events li[data-kind="decline"]').count() == 4
    assert "Try:" in view.locator(".pv-events").inner_text()
    assert "Alliance decline" in view.inner_text()
    page.screenshot(path=str(tmp_path / "pair-view.png"))
    # Close, then open another pair with the keyboard.
    page.locator(".pv-close").click()
    assert not page.locator("#pair-dialog").evaluate("d => d.open")
    page.locator('button.spark[data-pair="flat"]').focus()
    page.keyboard.press("Enter")
    page.wait_for_selector('#pair-view .pv[data-pair="flat"]')
    assert view.locator('.pv-chart .pv-marker[data-kind="passive"]').count() == 3
    assert p.console_errors == [] and p.foreign_requests() == []


def test_print_stylesheet(open_report: Any, small_report: Path, tmp_path: Path) -> None:
    p = open_report(small_report)
    page = p.page
    page.emulate_media(media="print")
    assert not page.locator("nav.toc").is_visible()
    assert page.locator("table").first.is_visible()
    assert page.locator(".phase-chart").is_visible()
    pdf = page.pdf(path=str(tmp_path / "report.pdf"))
    assert len(pdf) > 10_000


def test_hostile_ids_do_not_inject_markup(open_report: Any, tmp_path: Path) -> None:
    import json

    from test_study_run import conversation

    evil = '"><img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    corpus = tmp_path / "c.jsonl"
    conv = conversation("down")
    conv["conversation_id"] = evil
    corpus.write_text(json.dumps(conv) + "\n", encoding="utf-8")
    run_study(corpus, tmp_path / "out", scorer())
    p = open_report(tmp_path / "out" / "report.html")
    page = p.page
    page.locator("button.spark").first.click()
    page.wait_for_selector("#pair-view .pv")
    assert page.locator("#pair-view .pv-id").inner_text() == evil
    assert page.evaluate("() => window.__pwned") is None
    assert p.foreign_requests() == [] and p.console_errors == []


def test_annomi_report(open_report: Any, tmp_path: Path) -> None:
    if not ANNOMI.exists():
        pytest.skip(NO_ANNOMI)
    from alliance_monitor.scoring._embedded import EmbeddedScorer

    summary = run_study(ANNOMI, tmp_path / "out", EmbeddedScorer())
    p = open_report(tmp_path / "out" / "report.html", width=1280)
    page = p.page
    assert p.console_errors == [] and p.foreign_requests() == []
    assert page.locator("button.spark").count() == summary.n_transcripts == 133
    assert page.locator(".phase-point").count() == 12
    page.locator("button.spark").first.click()
    page.wait_for_selector("#pair-view .pv")
    page.screenshot(path=str(tmp_path / "annomi-pair.png"))
    page.locator(".pv-close").click()
    shot = tmp_path / "annomi-report.png"
    page.screenshot(
        path=str(shot), clip={"x": 0, "y": 0, "width": 1280, "height": 1500}, full_page=True
    )
    if os.environ.get("ALLIANCE_MONITOR_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, REPO / "docs" / "report-screenshot.png")
