"""Chinese text renders as Chinese (not missing-glyph boxes) in report.html and the supervisor view.

Headless Debian chromium, as in test_report_browser.py. The check draws each Han character of the
element's text on a canvas in the element's own font stack and compares it with the drawing of an
unassigned code point (U+0378, always the missing-glyph box): a character drawn like that box, or
two different characters drawn alike, is tofu. Without a CJK font (Debian fonts-noto-cjk, installed
by scripts/install-browser.sh) this test fails.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_report_browser import BROWSER_ARGS, CHROMIUM, _need_browser, run_study
from test_study_board import feed, pattern, scored

from alliance_monitor.scoring import EmbeddedScorer
from alliance_monitor.study import PairBoard, supervisor_app

PAIR = "林老师-小雨"
QUOTE = "你应该多体谅你妈妈"

#: Draw every Han character of the element's text in the element's font and compare with the
#: missing-glyph box. Returns [{ch, ink, tofu}] plus how many distinct bitmaps were drawn.
_GLYPHS_JS = r"""
([selector]) => {
  const el = document.querySelector(selector);
  const family = getComputedStyle(el).fontFamily;
  const c = document.createElement('canvas');
  c.width = 48; c.height = 48;
  const ctx = c.getContext('2d', {willReadFrequently: true});
  const draw = ch => {
    ctx.clearRect(0, 0, 48, 48);
    ctx.fillStyle = '#000';
    ctx.font = `36px ${family}`;
    ctx.fillText(ch, 4, 38);
    const d = ctx.getImageData(0, 0, 48, 48).data;
    let bits = '', ink = 0;
    for (let i = 3; i < d.length; i += 4) { const on = d[i] > 127; bits += on ? '1' : '0'; ink += on; }
    return [bits, ink];
  };
  const [missing] = draw('\u0378');
  const han = [...new Set([...el.textContent].filter(ch => /\p{Script=Han}/u.test(ch)))];
  const seen = new Set();
  const chars = han.map(ch => { const [bits, ink] = draw(ch); seen.add(bits);
                                return {ch, ink, tofu: bits === missing}; });
  return {family, chars, distinct: seen.size};
}
"""


def _assert_rendered(page: Any, selector: str, expected: str) -> None:
    text = page.locator(selector).first.inner_text()
    assert expected in text
    box = page.locator(selector).first.bounding_box()
    assert box is not None and box["width"] > 0 and box["height"] > 0
    res = page.evaluate(_GLYPHS_JS, [selector])
    chars = res["chars"]
    assert len(chars) >= 3, res
    assert all(c["ink"] > 20 for c in chars), res  # something was drawn
    assert not any(c["tofu"] for c in chars), f"missing CJK glyphs in {res['family']}: {res}"
    assert res["distinct"] == len(chars), f"CJK characters drawn alike (boxes): {res}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_playwright = _need_browser()
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield b
        b.close()


def _chinese_corpus(path: Path) -> Path:
    turns = [
        ("counselor", "你好，今天想聊些什么？"),
        ("client", "最近跟我妈吵得很厉害，我压力特别大。"),
        ("counselor", "听起来你夹在妈妈的期待和自己的压力之间。能多说说吗？"),
        ("client", "她每天都查我的成绩，我其实已经很努力了，晚上经常睡不着。"),
        ("counselor", QUOTE + "，她也是为你好。"),
        ("client", "可是她根本不听我说话。"),
    ] * 4
    msgs = [
        {"id": f"{PAIR}:{i}", "role": r, "text": t, "ts": 30.0 * i, "counselor_id": "林老师"}
        for i, (r, t) in enumerate(turns)
    ]
    path.write_text(
        json.dumps({"conversation_id": PAIR, "messages": msgs}, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    return path


def test_report_renders_chinese(browser: Any, tmp_path: Path) -> None:
    run_study(_chinese_corpus(tmp_path / "zh.jsonl"), tmp_path / "out", EmbeddedScorer())
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto((tmp_path / "out" / "report.html").resolve().as_uri())
    page.wait_for_load_state("load")
    selector = f'button.spark[data-pair="{PAIR}"]'
    page.wait_for_selector(selector)
    _assert_rendered(page, selector, PAIR)
    page.locator(selector).click()
    page.wait_for_selector("#pair-view .pv")
    _assert_rendered(page, "#pair-view .pv-id", PAIR)
    page.screenshot(path=str(tmp_path / "report-zh.png"), full_page=True)
    assert (tmp_path / "report-zh.png").stat().st_size > 10_000
    assert errors == []
    page.close()


def test_supervisor_view_renders_chinese(browser: Any, tmp_path: Path) -> None:
    uvicorn = pytest.importorskip("uvicorn")
    board = PairBoard()
    feed(board, scored(PAIR, 0, 3.0, baseline=True), pattern(PAIR, 0, quote=QUOTE))
    app = supervisor_app(board, include_text=True, poll_interval=0.2)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"http://127.0.0.1:{port}/")
        row = f'#pairs-body tr[data-pair="{PAIR}"]'
        page.wait_for_selector(row)
        _assert_rendered(page, row, PAIR)
        page.locator(row).click()
        page.wait_for_selector("#pair-view .pv blockquote")
        _assert_rendered(page, "#pair-view .pv blockquote", QUOTE)
        page.screenshot(path=str(tmp_path / "supervisor-zh.png"), full_page=True)
        assert errors == []
        page.close()
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
