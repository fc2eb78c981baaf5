"""The supervisor view of a live monitor: a pure ASGI app (no web framework needed).

    board = PairBoard()
    monitor.on(board)
    app = supervisor_app(board)          # serve it, or mount it at /supervisor

Routes, relative to where it is mounted:

- `GET /`: the page. It lists pairs ranked by concern (safety > decline > low > patterns >
  trajectory) with a sparkline each; selecting one opens the same pair view as `report.html`.
  It polls the JSON endpoint every `poll_interval` seconds and redraws only when the board
  changed.
- `GET /api/pairs?since=V&limit=N`: the ranked list; `{"version": V, "changed": false}` when
  nothing happened since version V.
- `GET /api/pair?id=ID`: one pair view, 404 if the board does not hold the pair.
- `GET /api/feedback`: the feedback loop: counselors' ratings of feedback (means of the paper's
  three questions beside the paper's) and the recovery figure (`PairBoard.feedback_loop`).

Mounting: the app honours the ASGI `root_path` (it accepts `path` with or without the mount
prefix, as Starlette's `Mount` and plain dispatchers pass it), and the page uses relative URLs.

Privacy: the board holds no message text, and feedback quotes (present only when the monitor
was built with `include_text=True`) are left out unless this app is also built with
`include_text=True`. The page shows conversation and counselor ids: serve it behind the
platform's own authentication; it has none.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

from ._assets import CSP, CSS, PAIR_JS
from ._board import PairBoard

__all__ = ["ASGIApp", "SupervisorApp", "supervisor_app"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_PAGE_CSP = CSP + "; connect-src 'self'; frame-ancestors 'self'"
_COMMON_HEADERS = [
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


def supervisor_app(
    board: PairBoard,
    *,
    include_text: bool = False,
    poll_interval: float = 2.0,
    limit: int = 200,
    title: str = "Alliance supervisor",
) -> SupervisorApp:
    """An ASGI app showing `board` to a supervisor. See the module docstring."""
    return SupervisorApp(
        board, include_text=include_text, poll_interval=poll_interval, limit=limit, title=title
    )


class SupervisorApp:
    """The ASGI callable behind `supervisor_app`."""

    def __init__(
        self,
        board: PairBoard,
        *,
        include_text: bool = False,
        poll_interval: float = 2.0,
        limit: int = 200,
        title: str = "Alliance supervisor",
    ) -> None:
        if poll_interval <= 0 or limit < 1:
            raise ValueError("supervisor_app needs poll_interval > 0 and limit >= 1")
        self.board = board
        self.include_text = include_text
        self.poll_interval = poll_interval
        self.limit = limit
        self.title = title
        self._page = _page(title, include_text, poll_interval).encode("utf-8")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await _lifespan(receive, send)
        elif kind == "http":
            await self._http(scope, send)
        elif kind == "websocket":
            await receive()
            await send({"type": "websocket.close", "code": 1008})

    async def _http(self, scope: Scope, send: Send) -> None:
        root = str(scope.get("root_path", "") or "")
        path = str(scope.get("path", ""))
        if root and (path == root or path.startswith(root + "/")):
            path = path[len(root) :]
        method = scope.get("method", "GET")
        head = method == "HEAD"
        if method not in ("GET", "HEAD"):
            await _respond(
                send,
                405,
                b"method not allowed\n",
                b"text/plain; charset=utf-8",
                extra=[(b"allow", b"GET, HEAD")],
            )
            return
        query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"))
        if path == "":
            location = (root + "/").encode("latin-1", "replace")
            await _respond(send, 307, b"", b"text/plain", extra=[(b"location", location)])
        elif path in ("/", "/index.html"):
            await _respond(
                send,
                200,
                self._page,
                b"text/html; charset=utf-8",
                head=head,
                extra=[(b"content-security-policy", _PAGE_CSP.encode())],
            )
        elif path == "/api/pairs":
            await _json(send, self._listing(query), head=head)
        elif path == "/api/feedback":
            await _json(send, self.board.feedback_loop(), head=head)
        elif path == "/api/pair":
            pid = (query.get("id") or [""])[0]
            view = self.board.view(pid, include_text=self.include_text) if pid else None
            if view is None:
                await _json(send, {"error": "unknown pair"}, status=404, head=head)
            else:
                await _json(send, view, head=head)
        else:
            await _respond(send, 404, b"not found\n", b"text/plain; charset=utf-8", head=head)

    def _listing(self, query: dict[str, list[str]]) -> dict[str, Any]:
        since = _int((query.get("since") or [""])[0])
        if since is not None and since == self.board.version:
            return {"version": since, "changed": False}
        limit = _int((query.get("limit") or [""])[0]) or self.limit
        out = self.board.listing(limit=max(1, min(limit, 5000)), include_text=self.include_text)
        out["changed"] = True
        return out


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes,
    *,
    head: bool = False,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        *_COMMON_HEADERS,
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


async def _json(send: Send, data: Any, *, status: int = 200, head: bool = False) -> None:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    await _respond(send, status, body, b"application/json", head=head)


def _page(title: str, include_text: bool, poll_interval: float) -> str:
    import html

    text_note = (
        "Feedback quotes from messages are shown (opted in)."
        if include_text
        else "No message text is shown."
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{html.escape(title)}</title>
<style>{CSS}
.layout {{ display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1.2fr);
  gap: 18px; max-width: 1800px; margin: 0 auto; padding: 0 20px; }}
.layout > * {{ min-width: 0; }}
header {{ max-width: 1800px; }}
/* The table never grows past its panel: fixed columns, long words wrap, a scroll box as the
   last resort; the feedback column only where there is room for it. */
.pairs-wrap {{ overflow-x: auto; }}
#pairs-table {{ width: 100%; table-layout: fixed; }}
#pairs-table th, #pairs-table td {{ overflow-wrap: anywhere; }}
#pairs-table .badge {{ white-space: normal; }}
#pairs-table svg {{ max-width: 100%; }}
#pairs-table col.c-rank {{ width: 2.6em; }}
#pairs-table col.c-pair {{ width: 26%; }}
#pairs-table col.c-concern {{ width: 24%; }}
#pairs-table col.c-fb {{ width: 28%; }}
@media (max-width: 1599px) {{ #pairs-table .fb {{ display: none; }} }}
#pairs-table tbody tr {{ cursor: pointer; }}
#pairs-table tbody tr:hover, #pairs-table tbody tr:focus-visible {{ outline: 3px solid #0072B2; }}
#pairs-table tbody tr[aria-selected="true"] {{ background: #eaf3fa; }}
#pairs-table td {{ text-align: left; }}
#pairs-table td:first-child, #pairs-table td.num {{ text-align: right; }}
#pairs-table td.fb {{ max-width: 260px; font-size: .8rem; color: #555; }}
#pairs-table td.fb div {{ display: -webkit-box; -webkit-line-clamp: 3; -webkit-box-orient: vertical;
  overflow: hidden; }}
@media (max-width: 900px) {{ .layout {{ grid-template-columns: 1fr; }} }}
</style></head><body>
<header><h1>{html.escape(title)}</h1>
<p class="meta">Pairs ranked by concern: safety signal, alliance decline, low alliance,
counselor patterns, latest window below its start. {text_note}
A safety signal means a human must look now; this page is not a crisis service.</p>
<p class="meta" id="status" role="status" aria-live="polite">Loading…</p>
<details id="fb-loop">
<summary>Feedback loop: counselors' ratings and what followed feedback</summary>
<div id="fb-loop-body"><p class="note">No feedback rated or delivered yet.</p></div></details>
</header>
<div class="layout">
<section aria-labelledby="h-list"><h2 id="h-list">Pairs</h2>
<div class="pairs-wrap"><table id="pairs-table"><colgroup><col class="c-rank"><col class="c-pair">
<col class="c-concern"><col><col><col><col class="c-fb fb"></colgroup>
<thead><tr><th scope="col">#</th><th scope="col">Pair</th>
<th scope="col">Concern</th><th scope="col">Latest overall</th><th scope="col">Latest vs start</th>
<th scope="col">Events</th><th scope="col" class="fb">Last feedback</th></tr></thead>
<tbody id="pairs-body"></tbody></table></div>
<p class="note" id="empty">No pairs yet: events appear here as the monitor emits them.</p>
</section>
<section aria-labelledby="h-view"><h2 id="h-view">Pair view</h2>
<div id="pair-view"><p class="note">Select a pair.</p></div></section>
</div>
<script>{PAIR_JS}
const POLL_MS = {max(100, round(poll_interval * 1000))};
{_SUPERVISOR_JS}</script></body></html>
"""


_SUPERVISOR_JS = r"""
(() => {
  const body = document.getElementById("pairs-body");
  const status = document.getElementById("status");
  const view = document.getElementById("pair-view");
  const empty = document.getElementById("empty");
  let version = -1;
  let selected = null;
  const h = AM.h;

  function row(p, i) {
    const c = p.counts || {};
    const tr = h("tr", {"data-pair": p.id, "data-concern": p.concern, tabindex: "0",
      class: `concern-${p.concern}`,
      "aria-selected": String(p.id === selected)});
    const who = h("td", {}, h("div", {class: "sid"}, p.id));
    if (p.counselor_id) {
      who.append(h("div", {class: "note"}, `counselor ${p.counselor_id}`));
    }
    who.append(AM.sparkline(p.spark || []));
    const events = [];
    if (c.safety) events.push(`${c.safety} safety`);
    if (c.declines) events.push(`${c.declines} decline`);
    if (c.low) events.push(`${c.low} low`);
    if (c.passive) events.push(`${c.passive} passive`);
    if (c.directive) events.push(`${c.directive} directive`);
    tr.append(
      h("td", {}, String(i + 1)), who,
      h("td", {}, h("span", {class: `badge concern-${p.concern}`},
        AM.CONCERN[p.concern] || p.concern)),
      h("td", {class: "num"}, p.latest ? AM.fmt(p.latest.overall) : "n/a"),
      h("td", {}, AM.vsStart(p.change)),
      h("td", {}, events.join(", ") || "none"),
      h("td", {class: "fb"}, h("div", {}, p.last_feedback ? p.last_feedback.summary : "")));
    const pick = () => select(p.id);
    tr.addEventListener("click", pick);
    tr.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); pick(); }
    });
    return tr;
  }

  async function loadPair(id) {
    const r = await fetch(`api/pair?id=${encodeURIComponent(id)}`, {cache: "no-store"});
    if (!r.ok) {
      view.replaceChildren(h("p", {class: "note"}, "This pair is no longer on the board."));
      return;
    }
    view.replaceChildren(AM.renderPair(await r.json()));
  }
  async function select(id) {
    selected = id;
    for (const tr of body.querySelectorAll("tr")) {
      tr.setAttribute("aria-selected", String(tr.dataset.pair === id));
    }
    await loadPair(id);
  }
  const fbBody = document.getElementById("fb-loop-body");
  const QUESTIONS = {understanding: "It helped me understand the alliance",
    directions: "It showed directions to improve", willingness: "I am willing to adjust"};
  const KIND = {passive: "Passive pattern", directive: "Directive pattern",
    decline: "Alliance decline"};
  function ci(m) {
    if (!m || m.mean === null) return "n/a";
    return AM.fmt(m.mean) + (m.ci && m.ci[0] !== null ? ` [${AM.fmt(m.ci[0])}, ${AM.fmt(m.ci[1])}]`
      : "");
  }
  function change(c) {
    if (!c || c.mean === null) return `n/a (n = ${c ? c.n : 0})`;
    return `${AM.signed(c.mean)}` + (c.ci && c.ci[0] !== null
      ? ` [${AM.signed(c.ci[0])}, ${AM.signed(c.ci[1])}]` : "") + ` (n = ${c.n})`;
  }
  function renderLoop(d) {
    const r = d.ratings;
    const t1 = h("table", {class: "fb-ratings"}, h("caption", {},
      `Counselors' ratings of feedback, 1-5 (n = ${r.n}); the paper's counselors rated ` +
      "an LLM's feedback 3.43, 3.49 and 3.74"));
    t1.append(h("thead", {}, h("tr", {}, h("th", {scope: "col"}, "Question"),
      h("th", {scope: "col"}, "Mean [95% CI]"), h("th", {scope: "col"}, "Paper"))));
    const b1 = h("tbody");
    for (const [q, label] of Object.entries(QUESTIONS)) {
      const m = r.questions[q];
      b1.append(h("tr", {"data-question": q}, h("th", {scope: "row"}, label),
        h("td", {}, ci({mean: m.mean, ci: m.ci})), h("td", {}, AM.fmt(m.paper_mean))));
    }
    t1.append(b1);
    const t2 = h("table", {class: "fb-recovery"}, h("caption", {},
      "Next two windows after the feedback, minus its window (levels): delivered feedback " +
      "against the same event in pairs with no feedback delivered yet"));
    t2.append(h("thead", {}, h("tr", {}, h("th", {scope: "col"}, "Feedback on"),
      h("th", {scope: "col"}, "Delivered"), h("th", {scope: "col"}, "No feedback yet"),
      h("th", {scope: "col"}, "Difference"))));
    const b2 = h("tbody");
    for (const row of d.recovery) {
      const diff = row.difference === null ? "n/a" : AM.signed(row.difference) +
        (row.difference_ci[0] !== null
          ? ` [${AM.signed(row.difference_ci[0])}, ${AM.signed(row.difference_ci[1])}]` : "");
      b2.append(h("tr", {"data-kind": row.kind},
        h("th", {scope: "row"}, KIND[row.kind] || row.kind),
        h("td", {}, change(row.delivered)), h("td", {}, change(row.no_feedback_yet)),
        h("td", {}, diff)));
    }
    t2.append(b2);
    fbBody.replaceChildren(h("p", {class: "note"},
      `${d.delivered} feedback item(s) delivered or rated. No comment text is shown here.`),
      h("div", {class: "table-wrap"}, t1), h("div", {class: "table-wrap"}, t2));
  }
  async function loadLoop() {
    try {
      const r = await fetch("api/feedback", {cache: "no-store"});
      if (r.ok) renderLoop(await r.json());
    } catch (e) { /* shown again on the next change */ }
  }

  async function tick() {
    try {
      const r = await fetch(`api/pairs?since=${version}`, {cache: "no-store"});
      const d = await r.json();
      if (d.changed) {
        version = d.version;
        body.replaceChildren(...d.pairs.map(row));
        empty.hidden = d.pairs.length > 0;
        if (selected !== null) await loadPair(selected);
        await loadLoop();
      }
      const when = new Date().toLocaleTimeString();
      status.textContent = `${d.changed ? "Updated" : "Checked"} ${when} · ` +
        `board version ${version}` + (d.total !== undefined ? ` · ${d.total} pairs` : "");
      status.dataset.version = String(version);
    } catch (e) {
      status.textContent = "Cannot reach the monitor; retrying.";
    }
    setTimeout(tick, POLL_MS);
  }
  tick();
})();
"""
