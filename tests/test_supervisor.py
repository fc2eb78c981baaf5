"""The supervisor view: the ASGI app in-process, then a real uvicorn server driven by a live
monitor and read by headless chromium (see test_report_browser.py for the browser setup)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from test_report_browser import BROWSER_ARGS, CHROMIUM, _need_browser
from test_study_board import feed, pattern, safety, scored

from alliance_monitor import Monitor, ScoringPolicy, WindowRequest
from alliance_monitor.study import PairBoard, supervisor_app
from alliance_monitor.study._supervisor import Scope
from alliance_monitor.testing import StaticScorer

# ---------------------------------------------------------------------- in-process ASGI


async def call(
    app: Any, path: str, *, method: str = "GET", query: str = "", root_path: str = ""
) -> tuple[int, dict[str, str], bytes]:
    scope: Scope = {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": root_path,
        "query_string": query.encode(),
        "headers": [],
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(dict(message))

    await app(scope, receive, send)
    start, body = sent[0], sent[1]
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, body["body"]


@pytest.fixture
def board() -> PairBoard:
    b = PairBoard()
    feed(
        b,
        scored("calm", 0, 4.0, baseline=True),
        scored("pas", 0, 3.0, baseline=True),
        pattern("pas", 0, quote="quoted words"),
        safety("risk", "m7"),
    )
    return b


@pytest.mark.anyio
async def test_page_and_headers(board: PairBoard) -> None:
    app = supervisor_app(board)
    status, headers, body = await call(app, "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "connect-src 'self'" in headers["content-security-policy"]
    assert "default-src 'none'" in headers["content-security-policy"]
    assert headers["cache-control"] == "no-store"
    assert b"No message text is shown" in body
    urls = body.replace(b"http://www.w3.org/2000/svg", b"")  # the SVG namespace is no fetch
    assert b"http://" not in urls and b"https://" not in urls
    status, _h, body = await call(app, "/", method="HEAD")
    assert status == 200 and body == b""


@pytest.mark.anyio
async def test_listing_and_since(board: PairBoard) -> None:
    app = supervisor_app(board)
    _s, headers, body = await call(app, "/api/pairs")
    data = json.loads(body)
    assert headers["content-type"] == "application/json"
    assert [p["id"] for p in data["pairs"]] == ["risk", "pas", "calm"]
    assert data["changed"] is True and data["version"] == board.version
    _s, _h, body = await call(app, "/api/pairs", query=f"since={board.version}")
    assert json.loads(body) == {"version": board.version, "changed": False}
    feed(board, scored("calm", 1, 4.0))
    _s, _h, body = await call(app, "/api/pairs", query=f"since={board.version - 1}")
    assert json.loads(body)["changed"] is True
    _s, _h, body = await call(app, "/api/pairs", query="limit=1&since=x")
    assert len(json.loads(body)["pairs"]) == 1


@pytest.mark.anyio
async def test_pair_view_and_text_opt_in(board: PairBoard) -> None:
    status, _h, body = await call(supervisor_app(board), "/api/pair", query="id=pas")
    assert status == 200 and json.loads(body)["id"] == "pas"
    assert b"quoted words" not in body
    _s, _h, body = await call(supervisor_app(board, include_text=True), "/api/pair", query="id=pas")
    assert b"quoted words" in body
    status, _h, _b = await call(supervisor_app(board), "/api/pair", query="id=nobody")
    assert status == 404


@pytest.mark.anyio
async def test_routing_under_a_mount(board: PairBoard) -> None:
    app = supervisor_app(board)
    # Starlette >= 0.33 style: full path plus root_path; older style: path already stripped.
    for path in ("/supervisor/api/pairs", "/api/pairs"):
        status, _h, _b = await call(app, path, root_path="/supervisor")
        assert status == 200, path
    status, headers, _b = await call(app, "/supervisor", root_path="/supervisor")
    assert status == 307 and headers["location"] == "/supervisor/"
    assert (await call(app, "/nope"))[0] == 404
    status, headers, _b = await call(app, "/api/pairs", method="POST")
    assert status == 405 and headers["allow"] == "GET, HEAD"


@pytest.mark.anyio
async def test_lifespan_and_websocket(board: PairBoard) -> None:
    app = supervisor_app(board)
    incoming = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[Any] = []

    async def receive() -> Any:
        return next(incoming)

    async def send(m: Any) -> None:
        sent.append(m)

    await app({"type": "lifespan"}, receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    sent.clear()
    incoming = iter([{"type": "websocket.connect"}])
    await app({"type": "websocket", "path": "/"}, receive, send)
    assert sent == [{"type": "websocket.close", "code": 1008}]
    with pytest.raises(ValueError):
        supervisor_app(board, poll_interval=0)


# ---------------------------------------------------------------------- a live deployment
LEVELS = {"falling": (4.0, 3.0, 2.0), "passive": (3.0, 3.0, 3.0), "calm": (4.0, 4.0, 4.0)}
SENTINEL = "zebrasentinel"


def _level(req: WindowRequest) -> float:
    return LEVELS.get(req.conversation_id, (3.0,) * 3)[min(req.window_index, 2)]


def _messages(cid: str, start: int, n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(start, start + n):
        counselor = i % 2 == 0
        if counselor:
            text = f"ok {SENTINEL} {cid}" if cid == "passive" else "what was that like?"
        elif cid == "falling" and i >= 12:
            text = f"you're not listening, {SENTINEL}"  # an unrepaired rupture: what fell
        else:
            text = f"my {SENTINEL} story about {cid}"
        out.append(
            {
                "conversation_id": cid,
                "id": f"{cid}:{i}",
                "ts": float(i),
                "role": "counselor" if counselor else "client",
                "text": text,
            }
        )
    return out


@dataclass
class Live:
    board: PairBoard
    base: str
    feed: Any


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    uvicorn = pytest.importorskip("uvicorn")
    from anyio.from_thread import start_blocking_portal

    board = PairBoard()
    plain = supervisor_app(board, poll_interval=0.2)
    with_text = supervisor_app(board, include_text=True, poll_interval=0.2)

    async def mounted(scope: Any, receive: Any, send: Any) -> None:
        # What a host app's mount does: keep the full path, set root_path to the prefix.
        if scope["type"] == "lifespan":
            await plain(scope, receive, send)
            return
        for prefix, app in (("/supervisor", plain), ("/with-text", with_text)):
            if scope["path"] == prefix or scope["path"].startswith(prefix + "/"):
                await app({**scope, "root_path": prefix}, receive, send)
                return
        await plain(scope, receive, send)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(mounted, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    monitor = Monitor(
        scorer=StaticScorer(_level, passive=lambda t: float(t.startswith("ok"))),
        idle_check_interval=None,
        include_text=True,
        scoring=ScoringPolicy(overload="wait"),
    )
    try:
        with start_blocking_portal() as portal, portal.wrap_async_context_manager(monitor):
            monitor.on(board)

            def feed_messages(msgs: list[dict[str, Any]]) -> None:
                for m in msgs:
                    portal.call(monitor.ingest, m)
                portal.call(monitor.flush)

            yield Live(board, f"http://127.0.0.1:{port}", feed_messages)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_playwright = _need_browser()
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield b
        b.close()


def _row_ids(page: Any) -> list[str]:
    ids: list[str] = page.locator("#pairs-body tr").evaluate_all(
        "rs => rs.map(r => r.dataset.pair)"
    )
    return ids


def test_live_supervisor_ranks_updates_and_hides_text(
    live: Live, browser: Any, tmp_path: Any
) -> None:
    # 36 messages fill three windows of six exchanges per pair; the 38th closes the third.
    live.feed([m for cid in LEVELS for m in _messages(cid, 0, 38)])
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    started = time.perf_counter()
    page.goto(f"{live.base}/supervisor")  # redirected to /supervisor/
    page.wait_for_selector("#pairs-body tr")
    assert page.url == f"{live.base}/supervisor/"
    assert _row_ids(page) == ["falling", "passive", "calm"]
    assert [
        page.locator(f'#pairs-body tr[data-pair="{c}"]').get_attribute("data-concern")
        for c in ("falling", "passive", "calm")
    ] == ["decline", "patterns", "ok"]
    # The pair view of the declining pair.
    page.locator('#pairs-body tr[data-pair="falling"]').click()
    page.wait_for_selector('#pair-view .pv[data-pair="falling"]')
    assert page.locator("#pair-view .pv-point").count() == 12  # 4 dimensions x 3 windows
    assert page.locator('#pair-view .pv-chart .pv-marker[data-kind="decline"]').count() == 1
    assert "Try:" in page.locator("#pair-view .pv-events").inner_text()
    # New events: a safety signal on the calm pair moves it to the top without a reload.
    live.feed(
        [
            {
                "conversation_id": "calm",
                "id": "calm:risk",
                "ts": 37.5,
                "role": "client",
                "text": "honestly I want to kill myself",
            }
        ]
    )
    page.wait_for_function(
        "() => document.querySelector('#pairs-body tr')?.dataset.pair === 'calm'", timeout=5000
    )
    assert _row_ids(page) == ["calm", "falling", "passive"]
    # The open pair view refreshes too: more windows for "falling".
    live.feed(_messages("falling", 38, 12))
    page.wait_for_function(
        "() => document.querySelectorAll('#pair-view .pv-dim[data-dim=overall] .pv-point')"
        ".length === 4",
        timeout=5000,
    )
    page.locator('#pairs-body tr[data-pair="passive"]').click()
    page.wait_for_selector('#pair-view .pv[data-pair="passive"]')
    assert page.locator('#pair-view .pv-events li[data-kind="passive"]').count() == 3
    elapsed = time.perf_counter() - started
    page.screenshot(path=str(tmp_path / "supervisor.png"), full_page=True)
    # No message text anywhere: not on the page, not in what it fetched.
    assert SENTINEL not in page.content()
    assert "kill myself" not in page.content()
    assert SENTINEL not in httpx.get(f"{live.base}/supervisor/api/pair?id=passive").text
    assert SENTINEL not in httpx.get(f"{live.base}/supervisor/api/pairs").text
    assert errors == []
    assert all(u.startswith(f"{live.base}/supervisor") for u in requests), requests
    print(f"supervisor browser flow: {elapsed:.2f}s")
    page.close()


def test_live_supervisor_shows_quotes_only_when_opted_in(live: Live, browser: Any) -> None:
    if live.board.view("passive") is None:
        live.feed(_messages("passive", 0, 38))
    page = browser.new_page()
    page.goto(f"{live.base}/with-text/")
    page.wait_for_selector('#pairs-body tr[data-pair="passive"]')
    page.locator('#pairs-body tr[data-pair="passive"]').click()
    page.wait_for_selector('#pair-view .pv[data-pair="passive"] blockquote')
    assert SENTINEL in page.locator("#pair-view").inner_text()
    assert "Feedback quotes from messages are shown" in page.content()
    page.close()
