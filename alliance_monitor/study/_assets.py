"""The CSS and the small script shared by `report.html` and the supervisor page.

Colours are the Okabe-Ito palette (safe for the common colour-vision deficiencies), and every
colour is paired with a text label, a marker shape or a dash pattern, so nothing is told by
colour alone. The script builds the pair view from JSON with DOM calls only (`textContent`,
never `innerHTML`), so ids and feedback from the platform cannot inject markup.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["CSP", "CSS", "PAIR_JS", "json_for_script"]

#: Nothing may be fetched by the page: no fonts, images, scripts or styles from anywhere.
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)


def json_for_script(data: Any) -> str:
    """JSON safe inside `<script type="application/json">` (no `</script>`, no `<!--`)."""
    return (
        json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


CSS = """
:root { --ink:#1a1a1a; --muted:#555; --line:#c8c8c8; --bg:#fff; --panel:#f6f6f6;
  --blue:#0072B2; --orange:#E69F00; --green:#009E73; --sky:#56B4E9; --verm:#D55E00;
  --purple:#CC79A7; --yellow:#F0E442; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: var(--ink); background: var(--bg); margin: 0; }
header, main, footer { max-width: 1100px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 18px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; }
h2 { font-size: 1.25rem; margin: 28px 0 8px; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05rem; margin: 16px 0 6px; }
.meta, .note, figcaption { color: var(--muted); font-size: .9rem; }
nav.toc { display: flex; gap: 14px; flex-wrap: wrap; font-size: .95rem; margin: 8px 0 0; }
a { color: var(--blue); }
figure { margin: 8px 0; }
svg { max-width: 100%; height: auto; font-family: inherit; }
svg text { fill: var(--ink); font-size: 12px; }
svg .axis { stroke: #888; stroke-width: 1; }
svg .grid { stroke: #e3e3e3; stroke-width: 1; }
svg .ci { stroke: var(--ink); stroke-width: 1.5; }
table { border-collapse: collapse; margin: 8px 0 4px; font-size: .9rem; }
th, td { border: 1px solid var(--line); padding: 3px 8px; text-align: right; vertical-align: top; }
th:first-child, td:first-child { text-align: left; }
thead th { background: var(--panel); }
.table-wrap { overflow-x: auto; }
.table-wrap td { white-space: nowrap; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 16px; list-style: none; padding: 0;
  margin: 4px 0; font-size: .9rem; }
.legend li { display: flex; align-items: center; gap: 6px; }
.legend svg { flex: none; }
.sparks { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 8px;
  list-style: none; padding: 0; margin: 8px 0; }
.spark { width: 100%; display: grid; grid-template-columns: 1fr; gap: 2px; text-align: left;
  font: inherit; font-size: .8rem; background: var(--bg); color: var(--ink);
  border: 1px solid var(--line); border-left: 5px solid var(--line); border-radius: 4px;
  padding: 4px 6px; cursor: pointer; }
.spark:hover, .spark:focus-visible { outline: 3px solid var(--blue); outline-offset: 1px; }
.spark .sid { font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.spark-svg .spark-line { fill: none; stroke: var(--ink); stroke-width: 1.5; }
.spark-svg .spark-mid { stroke: #bbb; stroke-dasharray: 2 2; }
.spark-svg .spark-end { fill: var(--ink); }
.concern-safety { border-left-color: #000 !important; }
.concern-decline { border-left-color: var(--verm) !important; }
.concern-low { border-left-color: var(--orange) !important; }
.concern-patterns { border-left-color: var(--purple) !important; }
.concern-repaired { border-left-color: var(--green) !important; }
.badge { display: inline-block; font-size: .75rem; font-weight: 700; padding: 0 6px;
  border: 2px solid var(--line); border-radius: 10px; background: var(--bg); color: var(--ink);
  text-transform: uppercase; letter-spacing: .02em; }
.badge.concern-safety { background: #000; color: #fff; border-color: #000; }
.badge.concern-decline { border-color: var(--verm); }
.badge.concern-low { border-color: var(--orange); }
.badge.concern-patterns { border-color: var(--purple); }
.badge.concern-repaired { border-color: var(--green); }
dialog { width: min(900px, 96vw); max-height: 92vh; border: 1px solid #888; border-radius: 6px;
  padding: 12px 18px; }
dialog::backdrop { background: rgba(0,0,0,.35); }
.pv-close { float: right; font: inherit; }
.pv-chart .pv-line { fill: none; stroke-width: 2; }
.pv-chart .pv-marker text { font-size: 13px; font-weight: 700; fill: #fff; }
.pv-events { padding-left: 1.2em; }
.pv-events li { margin: 6px 0; }
.pv-events .try { color: var(--muted); }
.pv-events blockquote { margin: 2px 0 2px 8px; padding-left: 8px;
  border-left: 3px solid var(--line); }
.pv-counts { margin: 4px 0; }
.dist-grid { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 4px 24px; }
@media (max-width: 640px) { .dist-grid { grid-template-columns: 1fr; } }
.dist-grid figure { margin: 0; }
.exemplars { list-style: none; padding: 0; }
.exemplars li { margin: 6px 0 12px; }
.exemplars blockquote { margin: 2px 0 2px 8px; padding-left: 8px;
  border-left: 3px solid var(--line); }
.exemplars blockquote.turn-counselor { border-left-color: var(--blue); }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
@media print {
  body { font-size: 10.5pt; color: #000; }
  nav.toc, .no-print, dialog:not([open]), .pv-close { display: none !important; }
  header, main, footer { max-width: none; padding: 0; }
  section, figure, table { break-inside: avoid; }
  h2 { break-after: avoid; }
  .spark { border-color: #999; }
  .sparks { grid-template-columns: repeat(4, 1fr); }
  dialog[open] { position: static; width: auto; max-height: none; border: 0; }
  a { color: #000; text-decoration: none; }
  .table-wrap { overflow: visible; }
  .table-wrap td { white-space: normal; }
}
"""

PAIR_JS = r"""
"use strict";
const AM = (() => {
  const SVGNS = "http://www.w3.org/2000/svg";
  const DIMS = [
    {key: "goal", label: "Goal", color: "#0072B2", dash: "", shape: "circle", width: 2},
    {key: "task", label: "Task (Approach)", color: "#E69F00", dash: "7 3", shape: "square",
      width: 2},
    {key: "bond", label: "Bond", color: "#009E73", dash: "2 3", shape: "triangle", width: 2},
    {key: "overall", label: "Overall", color: "#000000", dash: "", shape: "diamond", width: 3},
  ];
  const KINDS = {
    safety: {glyph: "!", label: "Safety signal", color: "#000000"},
    decline: {glyph: "▼", label: "Alliance decline", color: "#D55E00"},
    low: {glyph: "L", label: "Low alliance", color: "#A04000"},
    passive: {glyph: "P", label: "Passive pattern", color: "#0072B2"},
    directive: {glyph: "D", label: "Directive pattern", color: "#8E3B72"},
    unscored: {glyph: "?", label: "Window not scored", color: "#666666"},
  };
  const CONCERN = {
    safety: "Safety signal", decline: "Alliance decline", low: "Low alliance",
    patterns: "Counselor patterns", repaired: "Rupture repaired", ok: "No concern",
  };
  // One meaning per word: "trajectory" and declined / unchanged / improved always compare the
  // late third of a session with its early third (the study's measure). The live comparison of
  // the latest window with the pair's first windows is "vs its start": lower / higher / same.
  const TRAJ = {declined: "declined", unchanged: "unchanged", improved: "improved",
    improved_lt1: "improved < 1 level", improved_ge1: "improved ≥ 1 level",
    insufficient_evidence: "insufficient evidence"};

  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== null && v !== undefined) e.setAttribute(k, String(v));
    }
    for (const k of kids) {
      if (k !== null && k !== undefined) e.append(k instanceof Node ? k : String(k));
    }
    return e;
  }
  function s(tag, attrs, text) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== null && v !== undefined) e.setAttribute(k, String(v));
    }
    if (text !== undefined) e.textContent = text;
    return e;
  }
  const fmt = (x, d = 2) => (x === null || x === undefined) ? "n/a" : Number(x).toFixed(d);
  const signed = (x) => (x === null || x === undefined) ? "n/a"
    : (x >= 0 ? "+" : "−") + Math.abs(x).toFixed(2);
  const vsStart = (x) => (x === null || x === undefined) ? "n/a"
    : Math.abs(x) < 0.005 ? "the same"
    : `${fmt(Math.abs(x))} ${x < 0 ? "lower" : "higher"}`;

  function shape(kind, x, y, r, color) {
    if (kind === "circle") return s("circle", {cx: x, cy: y, r: r, fill: color});
    if (kind === "square") {
      return s("rect", {x: x - r, y: y - r, width: 2 * r, height: 2 * r, fill: color});
    }
    if (kind === "triangle") {
      const a = r * 1.15;
      return s("path", {d: `M${x} ${y - r * 1.25}L${x + a} ${y + r}L${x - a} ${y + r}Z`,
        fill: color});
    }
    const k = r * 1.35;
    return s("path", {d: `M${x} ${y - k}L${x + k} ${y}L${x} ${y + k}L${x - k} ${y}Z`, fill: color});
  }

  function sparkline(values, w = 120, ht = 30) {
    const svg = s("svg", {viewBox: `0 0 ${w} ${ht}`, width: w, height: ht, class: "spark-svg",
      "aria-hidden": "true", focusable: "false"});
    const y = (v) => ht - 3 - (v - 1) / 4 * (ht - 6);
    svg.append(s("line", {x1: 0, x2: w, y1: y(3), y2: y(3), class: "spark-mid"}));
    if (!values.length) return svg;
    const x = (i) => values.length === 1 ? w / 2 : 3 + i * (w - 6) / (values.length - 1);
    if (values.length > 1) {
      svg.append(s("polyline", {class: "spark-line",
        points: values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ")}));
    }
    const last = values.length - 1;
    svg.append(s("circle", {cx: x(last), cy: y(values[last]), r: 2.5, class: "spark-end"}));
    return svg;
  }

  function legendSwatch(d) {
    const svg = s("svg", {width: 34, height: 14, viewBox: "0 0 34 14", "aria-hidden": "true"});
    svg.append(s("line", {x1: 1, x2: 33, y1: 7, y2: 7, stroke: d.color,
      "stroke-width": d.width, "stroke-dasharray": d.dash || null}));
    svg.append(shape(d.shape, 17, 7, 4, d.color));
    return svg;
  }
  function markerGlyph(kind, x, y) {
    const k = KINDS[kind] || KINDS.unscored;
    const g = s("g", {class: "pv-marker", "data-kind": kind});
    g.append(s("rect", {x: x - 8, y: y - 9, width: 16, height: 17, rx: 3, fill: k.color}));
    g.append(s("text", {x: x, y: y + 4, "text-anchor": "middle"}, k.glyph));
    return g;
  }

  function chart(p) {
    const ws = p.windows || [];
    const pos = new Map(ws.map((w, i) => [w.window, i]));
    // One glyph per (window, kind); glyphs of one window stack in a band above the plot.
    const groups = new Map();
    for (const m of p.markers || []) {
      let i = pos.has(m.window) ? pos.get(m.window) : -1;
      if (i < 0) {
        i = 0;
        ws.forEach((w, j) => { if (m.window !== null && w.window <= m.window) i = j; });
      }
      const key = `${i}|${m.kind}`;
      if (!groups.has(key)) groups.set(key, {i: i, kind: m.kind, items: []});
      groups.get(key).items.push(m);
    }
    const stack = new Map();
    for (const g of groups.values()) { g.row = stack.get(g.i) || 0; stack.set(g.i, g.row + 1); }
    const rows = Math.max(1, ...stack.values());
    const W = 660, L = 40, R = 20, T = 22 + 19 * rows, B = 40, H = T + 210 + B;
    const n = Math.max(ws.length, 1);
    const x = (i) => n === 1 ? (L + W - R) / 2 : L + i * (W - L - R) / (n - 1);
    const y = (v) => T + (5 - v) / 4 * (H - T - B);
    const svg = s("svg", {viewBox: `0 0 ${W} ${H}`, class: "pv-chart", role: "img",
      "aria-label":
        `Alliance window scores over time for pair ${p.id}; the table below has the values`});
    for (const g of groups.values()) {
      const k = KINDS[g.kind] || KINDS.unscored;
      const glyph = markerGlyph(g.kind, Math.max(L, Math.min(W - 10, x(g.i))), 12 + 19 * g.row);
      glyph.append(s("title", {}, g.items.map((m) => k.label +
        (m.window !== null ? `, window ${m.window}` : "") +
        (m.dimension ? ` (${m.dimension})` : "") +
        (m.detail ? `: ${m.detail}` : "")).join("\n")));
      svg.append(glyph);
    }
    for (let v = 1; v <= 5; v++) {
      svg.append(s("line", {x1: L, x2: W - R, y1: y(v), y2: y(v),
        class: v === 3 ? "axis" : "grid"}));
      svg.append(s("text", {x: L - 8, y: y(v) + 4, "text-anchor": "end"}, String(v)));
    }
    svg.append(s("text", {x: 4, y: T - 6}, "level"));
    const step = Math.max(1, Math.ceil(ws.length / 12));
    ws.forEach((w, i) => {
      if (i % step === 0 || i === ws.length - 1) {
        svg.append(s("text", {x: x(i), y: H - B + 16, "text-anchor": "middle"}, String(w.window)));
      }
    });
    svg.append(s("text", {x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle"},
      "window (in time order)"));
    if (p.baseline) {
      const yb = y(p.baseline.overall);
      svg.append(s("line", {x1: L, x2: W - R, y1: yb, y2: yb, stroke: "#000",
        "stroke-dasharray": "1 4", "stroke-width": 1.5, class: "pv-baseline"}));
      svg.append(s("text", {x: W - R, y: yb - 4, "text-anchor": "end"},
        `baseline ${fmt(p.baseline.overall)}`));
    }
    for (const d of DIMS) {
      const pts = ws.map((w, i) => [x(i), y(w[d.key])]).filter((q) => !Number.isNaN(q[1]));
      const g = s("g", {class: "pv-dim", "data-dim": d.key});
      if (pts.length > 1) {
        g.append(s("polyline", {class: "pv-line", stroke: d.color, "stroke-width": d.width,
          "stroke-dasharray": d.dash || null,
          points: pts.map((q) => `${q[0].toFixed(1)},${q[1].toFixed(1)}`).join(" ")}));
      }
      pts.forEach((q, i) => {
        const m = shape(d.shape, q[0], q[1], d.key === "overall" ? 4 : 3.5, d.color);
        m.setAttribute("class", "pv-point");
        m.append(s("title", {}, `${d.label}, window ${ws[i].window}: ${fmt(ws[i][d.key])}`));
        g.append(m);
      });
      svg.append(g);
    }
    return svg;
  }

  function phaseTable(phases, caption) {
    const t = h("table", {class: "pv-phases"}, h("caption", {}, caption));
    const head = h("tr", {}, h("th", {scope: "col"}, "Phase"));
    for (const d of DIMS) head.append(h("th", {scope: "col"}, d.label));
    t.append(h("thead", {}, head));
    const body = h("tbody");
    for (const ph of ["early", "middle", "late"]) {
      const row = h("tr", {}, h("th", {scope: "row"}, ph));
      for (const d of DIMS) row.append(h("td", {}, fmt(phases[ph] ? phases[ph][d.key] : null)));
      body.append(row);
    }
    t.append(body);
    return t;
  }

  function windowTable(p) {
    const t = h("table", {class: "pv-windows"});
    const head = h("tr", {}, h("th", {scope: "col"}, "Window"));
    for (const d of DIMS) head.append(h("th", {scope: "col"}, d.label));
    t.append(h("thead", {}, head));
    const body = h("tbody");
    for (const w of p.windows || []) {
      const name = String(w.window) + (w.baseline ? " (baseline)" : "");
      const row = h("tr", {}, h("th", {scope: "row"}, name));
      for (const d of DIMS) row.append(h("td", {}, fmt(w[d.key])));
      body.append(row);
    }
    t.append(body);
    return h("details", {class: "pv-table"}, h("summary", {}, "Window scores as a table"), t);
  }

  const when = (ts) => (ts === null || ts === undefined) ? "n/a"
    : ts > 1e9 ? new Date(ts * 1000).toISOString().slice(0, 16).replace("T", " ")
    : String(Math.round(ts));

  function sessionTable(p) {
    const t = h("table", {class: "pv-sessions"},
      h("caption", {}, "Sessions in order"));
    t.append(h("thead", {}, h("tr", {},
      h("th", {scope: "col"}, "#"), h("th", {scope: "col"}, "Session"),
      h("th", {scope: "col"}, "At"), h("th", {scope: "col"}, "Overall"),
      h("th", {scope: "col"}, "Within the session (late vs early third)"))));
    const body = h("tbody");
    for (const r of p.sessions) {
      const tr = h("tr", {"data-session": String(r.index)},
        h("th", {scope: "row"}, String(r.index + 1)),
        h("td", {}, r.session_id || "—"),
        h("td", {}, when(r.ts)),
        h("td", {}, r.overall === null ? "insufficient evidence" : fmt(r.overall)),
        h("td", {}, `${TRAJ[r.trajectory] || r.trajectory} (${signed(r.change)})`));
      body.append(tr);
    }
    t.append(body);
    const out = h("div", {class: "pv-sessions-wrap"}, t);
    if (p.across) {
      const c = TRAJ[p.across.category] || p.across.category;
      out.append(h("p", {class: "pv-across"},
        `Across sessions (last vs first session): ${c}` +
        (p.across.change === null ? "" : ` (${signed(p.across.change)} levels)`)));
    }
    return out;
  }

  function events(p) {
    const ol = h("ol", {class: "pv-events"});
    for (const m of p.markers || []) {
      const k = KINDS[m.kind] || KINDS.unscored;
      const li = h("li", {"data-kind": m.kind},
        h("strong", {}, k.label),
        m.window === null || m.window === undefined ? ""
          : (m.kind === "safety" ? ` after window ${m.window}` : ` in window ${m.window}`),
        m.dimension ? ` · ${m.dimension}` : "",
        m.detail ? ` · ${m.detail}` : "");
      if (m.feedback) {
        li.append(h("div", {class: "fb"}, m.feedback.summary));
        li.append(h("div", {class: "try"}, "Try: " + m.feedback.suggestion));
        for (const q of m.feedback.quotes || []) li.append(h("blockquote", {}, q));
        if (m.rating) {
          li.append(h("div", {class: "fb-state", "data-state": "rated"},
            `Rated by the counselor (1-5): understanding ${m.rating.understanding}, ` +
            `directions ${m.rating.directions}, willingness ${m.rating.willingness}`));
        } else if (m.delivered) {
          li.append(h("div", {class: "fb-state", "data-state": "delivered"},
            "Delivered to the counselor"));
        }
      }
      ol.append(li);
    }
    return ol;
  }

  function renderPair(p) {
    const root = h("div", {class: "pv", "data-pair": p.id});
    root.append(h("h3", {id: "pv-title"}, "Pair ", h("span", {class: "pv-id"}, p.id)));
    const badge = h("span", {class: `badge concern-${p.concern}`}, CONCERN[p.concern] || p.concern);
    const meta = h("p", {class: "pv-meta"}, badge);
    if (p.counselor_id) meta.append(` · counselor ${p.counselor_id}`);
    if (p.study) {
      const t = TRAJ[p.study.trajectory] || p.study.trajectory;
      meta.append(` · trajectory (late vs early third): ${t}` +
        ` (${signed(p.study.change)} levels)`);
    }
    if (p.vs_start) {
      meta.append(` · latest window vs its start: ${vsStart(p.change)}`);
    }
    root.append(meta);
    const c = p.counts || {};
    root.append(h("p", {class: "pv-counts"},
      `${c.windows || 0} windows scored · ${c.declines || 0} declines · ${c.low || 0} low · ` +
      `${c.passive || 0} passive · ${c.directive || 0} directive · ${c.safety || 0} safety` +
      (c.unscored ? ` · ${c.unscored} unscored` : "")));
    const legend = h("ul", {class: "legend"});
    for (const d of DIMS) legend.append(h("li", {}, legendSwatch(d), d.label));
    for (const [kind, k] of Object.entries(KINDS)) {
      const sw = s("svg", {width: 18, height: 18, viewBox: "0 0 18 18", "aria-hidden": "true"});
      sw.append(markerGlyph(kind, 9, 9));
      legend.append(h("li", {}, sw, k.label));
    }
    root.append(chart(p), legend, windowTable(p));
    const phases = p.study ? p.study.phases : p.phases;
    if (phases) {
      root.append(phaseTable(phases, p.study ? "Study phases (thirds of the transcript)"
        : "Phases of the last session"));
    }
    if ((p.sessions || []).length > 1) root.append(sessionTable(p));
    root.append(h("h4", {}, "Events and feedback"));
    if ((p.markers || []).length) root.append(events(p));
    else root.append(h("p", {class: "note"}, "No pattern, decline, low-alliance or safety event."));
    return root;
  }
  return {renderPair, sparkline, h, s, fmt, signed, vsStart, CONCERN, TRAJ};
})();
"""
