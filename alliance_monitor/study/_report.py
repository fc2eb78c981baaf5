"""`report.html`: one self-contained page, nothing fetched at view time.

The summary charts are inline SVG written here (so they render, and print, without script);
the pair view that opens from each sparkline is drawn by the small inline script of `_assets`
from JSON embedded in the page, the same code the supervisor page uses. A Content-Security-Policy
meta tag forbids any network fetch, so a stray URL in the data cannot leak a request.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

from .. import __version__
from .._batch import PHASES, TranscriptResult
from .._decline import verdict_of
from .._models import DIMENSIONS
from ._assets import CSP, CSS, PAIR_JS, json_for_script
from ._items import BIN_EDGES
from ._records import (
    DIM_LABELS,
    TRAJECTORY_CATEGORIES,
    PairRecord,
    PatternRow,
    StudySummary,
    TrajectoryRow,
    _summary_md,
    fmt_ci,
    fmt_p,
    fmt_share,
    fmt_signed_ci,
)
from ._sessions import pair_across
from ._strings import report_language, text

__all__ = ["render_report", "static_view"]

# Okabe-Ito; each paired with a shape, a pattern or a text label.
PHASE_STYLE = {
    "early": ("#56B4E9", "circle", "Early"),
    "middle": ("#E69F00", "square", "Middle"),
    "late": ("#0072B2", "diamond", "Late"),
}
TRAJ_COLORS = {
    "declined": "#D55E00",
    "unchanged": "#BBBBBB",
    "improved_lt1": "#56B4E9",
    "improved_ge1": "#0072B2",
    "insufficient_evidence": "#FFFFFF",
}
PATTERN_COLORS = {"passive": "#E69F00", "directive": "#CC79A7"}
_E = html.escape


def _a(value: object) -> str:
    return html.escape(str(value), quote=True)


def _shape(kind: str, x: float, y: float, r: float, color: str, cls: str) -> str:
    if kind == "circle":
        return f'<circle class="{cls}" cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{color}"/>'
    if kind == "square":
        return (
            f'<rect class="{cls}" x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r}" '
            f'height="{2 * r}" fill="{color}"/>'
        )
    k = r * 1.35
    return (
        f'<path class="{cls}" d="M{x:.1f} {y - k:.1f}L{x + k:.1f} {y:.1f}L{x:.1f} {y + k:.1f}'
        f'L{x - k:.1f} {y:.1f}Z" fill="{color}"/>'
    )


def _nice_range(values: Sequence[float]) -> tuple[float, float, float]:
    """An axis range on the 1-5 scale around `values`, and a tick step."""
    if not values:
        return 1.0, 5.0, 1.0
    lo, hi = min(values), max(values)
    span = max(hi - lo, 0.2)
    step = 0.05 if span <= 0.3 else 0.1 if span <= 0.6 else 0.25 if span <= 1.5 else 0.5
    lo = max(1.0, math.floor((lo - span * 0.15) / step) * step)
    hi = min(5.0, math.ceil((hi + span * 0.15) / step) * step)
    return lo, hi, step


# ---------------------------------------------------------------------- charts
def phase_chart(s: StudySummary) -> str:
    """Phase means per dimension with CI whiskers (one point and one whisker per phase)."""
    w, h, left, right, top, bottom = 720, 300, 56, 12, 16, 58
    vals = [
        v
        for p in s.phases
        for ph in PHASES
        for v in (p.phase(ph).lo, p.phase(ph).hi, p.phase(ph).mean)
        if v is not None
    ]
    lo, hi, step = _nice_range(vals)

    def y(v: float) -> float:
        return top + (hi - v) / (hi - lo) * (h - top - bottom)

    out = [
        f'<svg class="chart phase-chart" viewBox="0 0 {w} {h}" role="img" '
        f'aria-labelledby="phase-chart-title"><title id="phase-chart-title">Mean alliance by '
        f"phase with {100 * s.confidence_level:.0f}% confidence intervals, per dimension"
        "</title>"
    ]
    ticks = round((hi - lo) / step)
    for i in range(ticks + 1):
        v = lo + i * step
        out.append(
            f'<line class="grid" x1="{left}" x2="{w - right}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>'
            f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.2f}</text>'
        )
    out.append(
        f'<text x="12" y="{(top + h - bottom) / 2:.0f}" text-anchor="middle" '
        f'transform="rotate(-90 12 {(top + h - bottom) / 2:.0f})">{_E(text("dist.axis"))}</text>'
    )
    group = (w - left - right) / max(len(s.phases), 1)
    for gi, p in enumerate(s.phases):
        gx = left + gi * group
        for pi, ph in enumerate(PHASES):
            ci = p.phase(ph)
            color, shape, _label = PHASE_STYLE[ph]
            x = gx + group * (pi + 1) / 4
            out.append(
                f'<text x="{x:.1f}" y="{h - bottom + 16}" text-anchor="middle" '
                f'class="tick">{_E(text("phase." + ph))}</text>'
            )
            if ci.mean is None:
                continue
            tip = f"{DIM_LABELS[p.dimension]}, {ph}: {fmt_ci(ci)}, n = {ci.n}"
            out.append(
                f'<g class="phase-point" data-dim="{p.dimension}" data-phase="{ph}">'
                f"<title>{_E(tip)}</title>"
            )
            if ci.lo is not None and ci.hi is not None:
                y1, y2 = y(max(ci.lo, lo)), y(min(ci.hi, hi))
                out.append(
                    f'<g class="ci-whisker"><line class="ci" x1="{x:.1f}" x2="{x:.1f}" '
                    f'y1="{y1:.1f}" y2="{y2:.1f}"/><line class="ci" x1="{x - 6:.1f}" '
                    f'x2="{x + 6:.1f}" y1="{y1:.1f}" y2="{y1:.1f}"/><line class="ci" '
                    f'x1="{x - 6:.1f}" x2="{x + 6:.1f}" y1="{y2:.1f}" y2="{y2:.1f}"/></g>'
                )
            out.append(_shape(shape, x, y(ci.mean), 5.5, color, "mean") + "</g>")
        out.append(
            f'<text x="{gx + group / 2:.1f}" y="{h - bottom + 38}" text-anchor="middle" '
            f'font-weight="700">{_E(DIM_LABELS[p.dimension])}</text>'
        )
        if gi:
            out.append(
                f'<line class="grid" x1="{gx:.1f}" x2="{gx:.1f}" y1="{top}" '
                f'y2="{h - bottom + 40}"/>'
            )
    out.append("</svg>")
    legend = "".join(
        f'<li><svg width="14" height="14" viewBox="0 0 14 14" aria-hidden="true">'
        f"{_shape(shape, 7, 7, 5, color, 'key')}</svg>{_E(text('phase.' + ph))}</li>"
        for ph, (color, shape, _label) in PHASE_STYLE.items()
    )
    legend += (
        '<li><svg width="14" height="14" viewBox="0 0 14 14" aria-hidden="true">'
        '<line x1="7" x2="7" y1="1" y2="13" stroke="#1a1a1a" stroke-width="1.5"/>'
        '<line x1="3" x2="11" y1="1" y2="1" stroke="#1a1a1a"/><line x1="3" x2="11" y1="13" '
        'y2="13" stroke="#1a1a1a"/></svg>'
        + _E(text("report.ci", level=f"{100 * s.confidence_level:.0f}%"))
        + "</li>"
    )
    return "".join(out) + f'<ul class="legend">{legend}</ul>'


_TRAJ_DEFS = (
    '<defs><pattern id="hatch-declined" width="6" height="6" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><rect width="6" height="6" fill="#D55E00"/>'
    '<line x1="0" y1="0" x2="0" y2="6" stroke="#fff" stroke-width="2"/></pattern>'
    '<pattern id="dots-insufficient" width="6" height="6" patternUnits="userSpaceOnUse">'
    '<rect width="6" height="6" fill="#fff"/><circle cx="3" cy="3" r="1.2" fill="#666"/>'
    "</pattern></defs>"
)


def trajectory_chart(s: StudySummary) -> str:
    """100% stacked bars, one per dimension, one segment per trajectory category."""
    rows = [(DIM_LABELS[t.dimension], t) for t in s.trajectories]
    svg = _stacked_bars(
        rows,
        "trajectory-chart",
        "traj-seg",
        "Share of pairs by trajectory (late vs early phase), per dimension",
        left=130,
        defs=_TRAJ_DEFS,
    )
    legend = "".join(
        f'<li><svg width="16" height="12" viewBox="0 0 16 12" aria-hidden="true">'
        f'<rect width="16" height="12" fill="'
        f'{_traj_fill(cat)}" stroke="#666"/></svg>'
        f"{_E(label)}</li>"
        for cat, label in TRAJECTORY_CATEGORIES.items()
    )
    return svg + f'<ul class="legend">{legend}</ul>'


def _stacked_bars(
    rows: Sequence[tuple[str, TrajectoryRow]],
    cls: str,
    seg_cls: str,
    title: str,
    *,
    left: int,
    defs: str = "",
) -> str:
    w, right, row, top = 720, 12, 40, 8
    h = top + row * len(rows) + 4
    bar_w = w - left - right
    tid = f"{cls}-title"
    out = [
        f'<svg class="chart {cls}" viewBox="0 0 {w} {h}" role="img" '
        f'aria-labelledby="{tid}"><title id="{tid}">{_E(title)}</title>{defs}'
    ]
    for i, (name, t) in enumerate(rows):
        yy = top + i * row
        out.append(
            f'<text x="{left - 8}" y="{yy + row / 2 + 1:.1f}" text-anchor="end" '
            f'font-weight="700">{_E(name)}</text>'
        )
        x = float(left)
        for cat, label in TRAJECTORY_CATEGORIES.items():
            share = t.share(cat) or 0.0
            seg = share * bar_w
            fill = _traj_fill(cat)
            tip = f"{name}: {label} {fmt_share(t.counts[cat], t.n)}"
            out.append(
                f'<rect class="{seg_cls}" data-dim="{t.dimension}" data-cat="{cat}" '
                f'x="{x:.1f}" y="{yy + 4}" width="{seg:.1f}" height="{row - 10}" '
                f'fill="{fill}" stroke="#fff"><title>{_E(tip)}</title></rect>'
            )
            if share >= 0.07:
                ink = "#fff" if cat in ("improved_ge1", "declined") else "#000"
                halo = (
                    ' stroke="#000" stroke-width="3" paint-order="stroke"'
                    if cat == "declined"
                    else ""
                )
                out.append(
                    f'<text x="{x + seg / 2:.1f}" y="{yy + row / 2 + 3:.1f}" '
                    f'text-anchor="middle" style="fill:{ink}" font-weight="700"{halo}>'
                    f"{100 * share:.0f}%</text>"
                )
            x += seg
    out.append("</svg>")
    return "".join(out)


def sessions_chart(s: StudySummary) -> str:
    """Mean overall alliance by session number, with interval whiskers, and the within- and
    across-session trajectories as stacked bars."""
    a = s.sessions
    if a is None:
        return ""
    level = f"{100 * s.confidence_level:.0f}%"
    cols = [col["overall"] for col in a.by_number]
    vals = [v for ci in cols for v in (ci.lo, ci.hi, ci.mean) if v is not None]
    lo, hi, step = _nice_range(vals)
    w, h, left, right, top, bottom = 720, 220, 56, 12, 12, 44

    def y(v: float) -> float:
        return top + (hi - v) / (hi - lo) * (h - top - bottom)

    def x(i: int) -> float:
        return left + (i + 0.5) * (w - left - right) / max(len(cols), 1)

    title = text("sess.chart", level=level)
    out = [
        f'<svg class="chart sessions-chart" viewBox="0 0 {w} {h}" role="img" '
        f'aria-labelledby="sessions-chart-title"><title id="sessions-chart-title">{_E(title)}'
        "</title>"
    ]
    for i in range(round((hi - lo) / step) + 1):
        v = lo + i * step
        out.append(
            f'<line class="grid" x1="{left}" x2="{w - right}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>'
            f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.2f}</text>'
        )
    pts = []
    for i, ci in enumerate(cols):
        name = (
            text("sess.bynum.last", k=i + 1)
            if a.folded and i + 1 == len(cols)
            else text("sess.bynum.col", k=i + 1)
        )
        out.append(
            f'<text x="{x(i):.1f}" y="{h - bottom + 16}" text-anchor="middle">{_E(name)}</text>'
        )
        if ci.mean is None:
            continue
        pts.append(f"{x(i):.1f},{y(ci.mean):.1f}")
        tip = f"{name}: {fmt_ci(ci)}, n = {ci.n}"
        out.append(f'<g class="session-point" data-session="{i + 1}"><title>{_E(tip)}</title>')
        if ci.lo is not None and ci.hi is not None:
            y1, y2 = y(max(ci.lo, lo)), y(min(ci.hi, hi))
            out.append(
                f'<line class="ci" x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{y1:.1f}" y2="{y2:.1f}"/>'
            )
        out.append(_shape("diamond", x(i), y(ci.mean), 5.5, "#000000", "mean") + "</g>")
    if len(pts) > 1:
        out.insert(
            1,
            f'<polyline points="{" ".join(pts)}" fill="none" stroke="#000" '
            'stroke-width="1.5" stroke-dasharray="4 3"/>',
        )
    out.append(
        f'<text x="{(left + w - right) / 2:.1f}" y="{h - 6}" text-anchor="middle">'
        f"{_E(text('sess.axis.x'))}</text></svg>"
    )
    rows = []
    if s.trajectories:
        rows.append((text("sess.within"), s.trajectory("overall")))
    rows.append((text("sess.across"), a.trajectory("overall")))
    bars = _stacked_bars(rows, "sessions-traj-chart", "sess-seg", text("sess.traj.chart"), left=290)
    return "".join(out) + bars


def ratings_chart(s: StudySummary) -> str:
    """The three questions: mean rating with its interval beside the paper's mean (a hollow
    mark), on the 1-5 scale."""
    fb = s.feedback
    assert fb is not None
    qs = fb["ratings"]["questions"]
    w, left, right, row, top, bottom = 720, 290, 20, 30, 8, 34
    h = top + row * len(qs) + bottom

    def x(v: float) -> float:
        return left + (v - 1) / 4 * (w - left - right)

    out = [
        f'<svg class="chart ratings-chart" viewBox="0 0 {w} {h}" role="img" '
        + 'aria-labelledby="ratings-chart-title"><title id="ratings-chart-title">'
        + _E(text("fb.chart"))
        + "</title>"
    ]
    base = top + row * len(qs)
    for v in range(1, 6):
        out.append(
            f'<line class="grid" x1="{x(v):.1f}" x2="{x(v):.1f}" y1="{top}" y2="{base}"/>'
            f'<text x="{x(v):.1f}" y="{base + 14}" text-anchor="middle">{v}</text>'
        )
    for i, (q, r) in enumerate(qs.items()):
        yy = top + i * row + row / 2
        out.append(
            f'<text x="{left - 8}" y="{yy + 4:.1f}" text-anchor="end">'
            f"{_E(text('fb.q.' + q))}</text>"
        )
        paper = r["paper_mean"]
        out.append(
            f'<g class="paper-mean" data-question="{q}"><title>'
            f"{_E(text('fb.paper', q=text('fb.q.' + q), v=f'{paper:.2f}'))}</title>"
            f'<circle cx="{x(paper):.1f}" cy="{yy:.1f}" r="5" fill="#fff" stroke="#555" '
            'stroke-width="2"/></g>'
        )
        if r["mean"] is None:
            continue
        lo, hi = r["ci"]
        tip = f"{text('fb.q.' + q)}: {r['mean']:.2f}" + (
            "" if lo is None else f" [{lo:.2f}, {hi:.2f}]"
        )
        out.append(f'<g class="rating-mean" data-question="{q}"><title>{_E(tip)}</title>')
        if lo is not None:
            out.append(
                f'<line class="ci" x1="{x(lo):.1f}" x2="{x(hi):.1f}" y1="{yy:.1f}" y2="{yy:.1f}"/>'
            )
        out.append(_shape("diamond", x(r["mean"]), yy, 5.5, "#0072B2", "mean") + "</g>")
    out.append(
        f'<text x="{(left + w - right) / 2:.1f}" y="{h - 4}" text-anchor="middle">'
        f"{_E(text('fb.axis'))}</text></svg>"
    )
    return "".join(out)


def _feedback_section(s: StudySummary, tables: dict[str, str]) -> str:
    head = (
        '<section id="feedback" aria-labelledby="h-feedback"><h2 id="h-feedback">'
        f"5. {_E(text('fb.section'))}</h2>"
    )
    fb = s.feedback
    if fb is None:
        return head + f'<p class="note">{_E(text("fb.none"))}</p></section>'
    src = fb["source"]
    source = (
        text("fb.source.none")
        if src.get("file") is None
        else text(
            "fb.source",
            name=src["file"],
            n=src["ratings"],
            d=src["deliveries"],
            other=src["other_pairs"],
            refused=sum(src["refused"].values()),
        )
    )
    return (
        head
        + f"<figure>{ratings_chart(s)}<figcaption>{_E(text('fb.caption'))}</figcaption></figure>"
        + tables.get("6", "")
        + tables.get("6b", "")
        + f'<p class="note">{_E(text("fb.note", source=source))}</p></section>'
    )


def _sessions_section(s: StudySummary, tables: dict[str, str]) -> str:
    head = (
        '<section id="sessions" aria-labelledby="h-sessions"><h2 id="h-sessions">'
        f"4. {_E(text('sess.section'))}</h2>"
    )
    if s.sessions is None:
        return head + f'<p class="note">{_E(text("sess.none"))}</p></section>'
    note = text("sess.note", tol=s.tolerance, single=s.sessions.n_single)
    return (
        head
        + f"<figure>{sessions_chart(s)}</figure>"
        + tables.get("5", "")
        + tables.get("5b", "")
        + f'<p class="note">{_E(note)}</p></section>'
    )


def _traj_fill(cat: str) -> str:
    """Declined is hatched, insufficient evidence dotted grey on white: neither relies on
    colour alone, and "insufficient evidence" never looks like "unchanged"."""
    if cat == "declined":
        return "url(#hatch-declined)"
    if cat == "insufficient_evidence":
        return "url(#dots-insufficient)"
    return TRAJ_COLORS[cat]


def pattern_chart(rows: Sequence[PatternRow], kind: str, title: str) -> str:
    """Grouped bars: share of counselor messages flagged passive / directive, per group."""
    rows = [r for r in rows if r.n_sessions]
    w, h, left, right, top, bottom = 720, 240, 56, 12, 24, 52
    top_share = max([max(r.passive_share or 0.0, r.directive_share or 0.0) for r in rows] + [0.05])
    ymax = min(1.0, math.ceil(top_share * 1.15 * 10) / 10)

    def y(v: float) -> float:
        return top + (1 - v / ymax) * (h - top - bottom)

    out = [
        f'<svg class="chart pattern-chart" data-kind="{kind}" viewBox="0 0 {w} {h}" '
        f'role="img" aria-labelledby="pattern-{kind}-title"><title id="pattern-{kind}-title">'
        f"{_E(title)}</title>"
    ]
    for i in range(6):
        v = ymax * i / 5
        out.append(
            f'<line class="grid" x1="{left}" x2="{w - right}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>'
            f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{100 * v:.0f}%</text>'
        )
    group = (w - left - right) / max(len(rows), 1)
    bw = min(48.0, group / 3)
    for gi, r in enumerate(rows):
        gx = left + gi * group + group / 2
        name = f"Level {r.group}" if kind == "level" else f"{r.group.capitalize()} third"
        for k, (pattern, share, count) in enumerate(
            (
                ("passive", r.passive_share, r.n_passive),
                ("directive", r.directive_share, r.n_directive),
            )
        ):
            v = share or 0.0
            x = gx - bw + k * bw
            edge = ' stroke="#000" stroke-width="1"' if pattern == "directive" else ""
            tip = f"{name}: {pattern} {fmt_share(count, r.n_counselor)}"
            out.append(
                f'<rect class="pattern-bar" data-kind="{kind}" data-group="{_a(r.group)}" '
                f'data-pattern="{pattern}" x="{x + 2:.1f}" y="{y(v):.1f}" '
                f'width="{bw - 4:.1f}" height="{y(0) - y(v):.1f}" '
                f'fill="{PATTERN_COLORS[pattern]}"{edge}><title>{_E(tip)}</title></rect>'
                f'<text x="{x + bw / 2:.1f}" y="{y(v) - 4:.1f}" text-anchor="middle">'
                f"{100 * v:.0f}%</text>"
            )
        out.append(
            f'<text x="{gx:.1f}" y="{h - bottom + 18}" text-anchor="middle" font-weight="700">'
            f"{_E(name)}</text>"
            f'<text x="{gx:.1f}" y="{h - bottom + 34}" text-anchor="middle">'
            f"{r.n_sessions} sessions, mean {r.mean_alliance or 0:.2f}</text>"
        )
    if not rows:
        out.append(f'<text x="{w / 2}" y="{h / 2}" text-anchor="middle">no scored sessions</text>')
    out.append("</svg>")
    return "".join(out)


def _pattern_legend() -> str:
    items = "".join(
        f'<li><svg width="16" height="12" viewBox="0 0 16 12" aria-hidden="true"><rect '
        f'width="15" height="11" x=".5" y=".5" fill="{c}"'
        + (' stroke="#000"' if n == "directive" else "")
        + f"/></svg>{n.capitalize()} (share of counselor messages flagged)</li>"
        for n, c in PATTERN_COLORS.items()
    )
    return f'<ul class="legend">{items}</ul>'


def _spark_svg(values: Sequence[float]) -> str:
    w, h = 120, 30

    def y(v: float) -> float:
        return h - 3 - (v - 1) / 4 * (h - 6)

    out = [
        f'<svg class="spark-svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        f'aria-hidden="true" focusable="false"><line class="spark-mid" x1="0" x2="{w}" '
        f'y1="{y(3):.1f}" y2="{y(3):.1f}"/>'
    ]
    if values:
        n = len(values)

        def x(i: int) -> float:
            return w / 2 if n == 1 else 3 + i * (w - 6) / (n - 1)

        if n > 1:
            pts = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
            out.append(f'<polyline class="spark-line" points="{pts}"/>')
        out.append(
            f'<circle class="spark-end" cx="{x(n - 1):.1f}" cy="{y(values[-1]):.1f}" r="2.5"/>'
        )
    out.append("</svg>")
    return "".join(out)


_CONCERN_LABELS = {
    "safety": "Safety signal",
    "decline": "Alliance decline",
    "low": "Low alliance",
    "patterns": "Counselor patterns",
    "repaired": "Rupture repaired",
    "ok": "No concern",
}


def _spark_button(v: dict[str, Any]) -> str:
    study = v.get("study") or {}
    traj = TRAJECTORY_CATEGORIES.get(study.get("trajectory", ""), "n/a").lower()
    change = study.get("change")
    change_txt = "" if change is None else f" ({change:+.2f})".replace("-", "−")
    concern = v["concern"]
    label = (
        f"Pair {v['id']}: {_CONCERN_LABELS.get(concern, concern)}; trajectory (late vs early "
        f"third) {traj}"
        f"{change_txt}. Open the pair view."
    )
    values = [w["overall"] for w in v.get("windows", []) if w.get("overall") is not None]
    return (
        f'<li><button type="button" class="spark concern-{_a(concern)}" data-pair="{_a(v["id"])}" '
        f'aria-label="{_a(label)}"><span class="sid">{_E(v["id"])}</span>{_spark_svg(values)}'
        f'<span><span class="badge concern-{_a(concern)}">'
        f"{_E(_CONCERN_LABELS.get(concern, concern))}</span> "
        f'<span class="traj">late vs early: {_E(traj)}{_E(change_txt)}</span></span>'
        "</button></li>"
    )


# ---------------------------------------------------------------------- views
def static_view(
    records: Sequence[PairRecord],
    results: Sequence[TranscriptResult],
    view: dict[str, Any] | None,
    tolerance: float,
) -> dict[str, Any]:
    """The pair view of the report: the replayed board view (or, without replay, the phases of
    its sessions as windows), plus the study's own phases and trajectory for the pair's latest
    session, and its sessions in order."""
    record = records[-1]
    if view is None:
        scored = [(w, w.scores) for res in results for w in res.windows]
        windows = [
            {
                "window": i,
                "ts": w.end_ts,
                "baseline": i == 0,
                **{d: round(sc.get(d), 4) for d in DIMENSIONS},
            }
            for i, (w, sc) in enumerate((w, sc) for w, sc in scored if sc is not None)
        ]
        # no replay, so no events: the verdict from the analysis alone (`_decline`)
        verdict = verdict_of(
            {"windows": len(windows)},
            trajectory=None if record.insufficient else results[-1].trajectory,
            repaired=bool(results[-1].verdict and results[-1].verdict.repaired),
        )
        view = {
            "id": record.conversation_id,
            "counselor_id": record.counselor_id,
            "concern": verdict.concern,
            "concern_rank": verdict.concern_rank,
            "latest": None,
            "baseline": None,
            "trajectory": None,
            "change": None,
            "vs_start": None,
            "counts": {"windows": len(windows)},
            "last_feedback": None,
            "windows": windows,
            "markers": [],
            "phases": None,
        }
    out = {
        **view,
        "study": {
            "trajectory": record.category("overall", tolerance),
            "change": round(record.changes["overall"], 4),
            "phases": {
                p: {d: round(v, 4) for d, v in ph.items()} for p, ph in record.phases.items()
            },
            "convention": record.convention,
            "level": record.level,
        },
    }
    if len(records) > 1:
        out["sessions"] = [_session_row(r, tolerance) for r in records]
        out["across"] = {
            "category": pair_across(records, tolerance)["overall"],
            "change": round(records[-1].alliance["overall"] - records[0].alliance["overall"], 4),
        }
    return out


def _session_row(r: PairRecord, tolerance: float) -> dict[str, Any]:
    return {
        "index": r.session_index,
        "session_id": r.session_id,
        "ts": r.start_ts,
        "overall": round(r.alliance["overall"], 4) if r.has_evidence else None,
        "trajectory": r.category("overall", tolerance),
        "change": round(r.changes["overall"], 4),
    }


# ---------------------------------------------------------------------- the page
def _md_table(block: str) -> str:
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in block.splitlines()]
    head, body = rows[0], rows[2:]
    out = ['<div class="table-wrap"><table><thead><tr>']
    out.extend(f'<th scope="col">{_E(c)}</th>' for c in head)
    out.append("</tr></thead><tbody>")
    for cells in body:
        out.append(
            f'<tr><th scope="row">{_E(cells[0])}</th>'
            + "".join(f"<td>{_E(c)}</td>" for c in cells[1:])
            + "</tr>"
        )
    out.append("</tbody></table></div>")
    return "".join(out)


def _tables(s: StudySummary) -> dict[str, str]:
    """The tables of summary.md as HTML, by number ("1", "1b", "2"...): summary.md is the one
    source of their content."""
    out: dict[str, str] = {}
    title: str | None = None
    for block in _summary_md(s).split("\n\n"):
        b = block.strip()
        if b.startswith("**Table"):
            title = b.strip("*")
        elif b.startswith("|") and title is not None:
            key = title.split(".", 1)[0].removeprefix("Table ").strip()
            out[key] = f'<p class="table-title"><strong>{_E(title)}</strong></p>{_md_table(b)}'
            title = None
    return out


def distribution_chart(s: StudySummary, dimension: str) -> str:
    """One dimension's score spread: a row of quarter-level bars per phase, median marked."""
    dists = [d for d in s.distributions if d.dimension == dimension]
    w, left, right, row, top, bottom = 340, 62, 10, 40, 26, 34
    h = top + row * len(dists) + bottom
    peak = max([max(d.counts) / d.n for d in dists if d.n] + [0.0]) or 1.0
    bins = len(BIN_EDGES) - 1
    bw = (w - left - right) / bins

    def x(v: float) -> float:
        return left + (v - BIN_EDGES[0]) / (BIN_EDGES[-1] - BIN_EDGES[0]) * (w - left - right)

    title = text("dist.chart", dim=DIM_LABELS[dimension])
    cid = f"dist-{dimension}-title"
    out = [
        f'<svg class="chart dist-chart" data-dim="{dimension}" viewBox="0 0 {w} {h}" '
        f'role="img" aria-labelledby="{cid}"><title id="{cid}">{_E(title)}</title>'
        f'<text x="{left}" y="14" font-weight="700">{_E(DIM_LABELS[dimension])}</text>'
    ]
    for i, d in enumerate(dists):
        base = top + (i + 1) * row - 4
        color, shape, _label = PHASE_STYLE[d.phase]
        out.append(
            f'<text x="{left - 8}" y="{base - row / 2 + 8:.1f}" text-anchor="end">'
            f"{_E(text('phase.' + d.phase))}</text>"
            f'<line class="grid" x1="{left}" x2="{w - right}" y1="{base}" y2="{base}"/>'
        )
        for k, c in enumerate(d.counts):
            if not c:
                continue
            bh = (c / d.n) / peak * (row - 10)
            lo, hi = BIN_EDGES[k], BIN_EDGES[k + 1]
            tip = f"{text('phase.' + d.phase)}, {lo:.2f}-{hi:.2f}: {c} of {d.n}"
            out.append(
                f'<rect class="dist-bar" data-phase="{d.phase}" data-bin="{k}" '
                f'data-count="{c}" x="{left + k * bw + 1:.1f}" y="{base - bh:.1f}" '
                f'width="{bw - 2:.1f}" height="{bh:.1f}" fill="{color}">'
                f"<title>{_E(tip)}</title></rect>"
            )
        if d.quartiles is not None:
            med = d.quartiles[2]
            out.append(
                f'<g class="dist-median" data-phase="{d.phase}"><title>{_E(f"median {med:.2f}")}'
                f"</title>{_shape(shape, x(med), base + 5, 4.5, '#1a1a1a', 'median')}</g>"
            )
    axis = top + row * len(dists) + 12
    for v in range(1, 6):
        out.append(f'<text x="{x(v):.1f}" y="{axis + 6}" text-anchor="middle">{v}</text>')
    out.append(
        f'<text x="{(left + w - right) / 2:.1f}" y="{h - 2}" text-anchor="middle">'
        f"{_E(text('dist.axis'))}</text></svg>"
    )
    return f'<figure class="dist">{"".join(out)}</figure>'


def _distribution_section(s: StudySummary, tables: dict[str, str]) -> str:
    if not s.distributions:
        return ""
    n = s.distributions[0].n
    charts = "".join(
        distribution_chart(s, d) for d in dict.fromkeys(x.dimension for x in s.distributions)
    )
    return (
        f'<h3 id="h-dist">{_E(text("dist.section"))}</h3>'
        f'<div class="dist-grid">{charts}</div>'
        f'<p class="note">{_E(text("dist.caption", n=n))}</p>' + tables.get("1c", "")
    )


def link_chart(s: StudySummary) -> str:
    """Odds ratios with their intervals on a log axis (a forest plot), one row per pattern and
    reading of "low"; a row without an estimate says so."""
    rows = list(s.link)
    w, left, right, row, top, bottom = 720, 250, 20, 28, 10, 34
    h = top + row * len(rows) + bottom
    vals = [v for r in rows for v in (r.lo, r.hi, r.odds_ratio) if v is not None and v > 0]
    lo = min([0.5, *vals])
    hi = max([2.0, *vals])
    lmin, lmax = math.floor(math.log10(lo) * 2) / 2, math.ceil(math.log10(hi) * 2) / 2

    def x(v: float) -> float:
        return left + (math.log10(v) - lmin) / (lmax - lmin) * (w - left - right)

    title = text("link.chart")
    out = [
        f'<svg class="chart link-chart" viewBox="0 0 {w} {h}" role="img" '
        f'aria-labelledby="link-chart-title"><title id="link-chart-title">{_E(title)}</title>'
    ]
    ticks = [t for t in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500) if lo <= t <= hi]
    bottom_y = top + row * len(rows)
    for t in ticks:
        cls = "axis" if t == 1 else "grid"
        out.append(
            f'<line class="{cls}" x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top}" y2="{bottom_y}"/>'
            f'<text x="{x(t):.1f}" y="{bottom_y + 14}" text-anchor="middle">{t:g}</text>'
        )
    out.append(
        f'<text x="{(left + w - right) / 2:.1f}" y="{h - 4}" text-anchor="middle">'
        f"{_E(text('link.axis'))}</text>"
    )
    for i, r in enumerate(rows):
        yy = top + i * row + row / 2
        color = PATTERN_COLORS[r.pattern]
        label = f"{text('pattern.' + r.pattern)}, {text('link.short.' + r.definition)}"
        out.append(f'<text x="{left - 8}" y="{yy + 4:.1f}" text-anchor="end">{_E(label)}</text>')
        if r.odds_ratio is None:
            out.append(
                f'<text x="{left + 8}" y="{yy + 4:.1f}" stroke="#fff" stroke-width="4" '
                'paint-order="stroke">'
                f"{_E(text('link.no_estimate'))}</text>"
            )
            continue
        tip = f"{label}: {r.odds_ratio:.2f}" + (
            f" [{r.lo:.2f}, {r.hi:.2f}]" if r.lo is not None and r.hi is not None else ""
        )
        out.append(
            f'<g class="link-row" data-pattern="{r.pattern}" data-low="{r.definition}">'
            f"<title>{_E(tip)}</title>"
        )
        if r.lo is not None and r.hi is not None:
            out.append(
                f'<line class="ci" x1="{x(max(r.lo, lo)):.1f}" x2="{x(min(r.hi, hi)):.1f}" '
                f'y1="{yy:.1f}" y2="{yy:.1f}"/>'
            )
        edge = ' stroke="#000"' if r.pattern == "directive" else ""
        out.append(
            f'<rect x="{x(r.odds_ratio) - 5:.1f}" y="{yy - 5:.1f}" width="10" height="10" '
            f'fill="{color}"{edge}/></g>'
        )
    out.append("</svg>")
    return "".join(out)


def _link_section(s: StudySummary, tables: dict[str, str]) -> str:
    if "3c" not in tables:
        return f'<p class="note">{_E(text("link.none"))}</p>'
    parts = [
        f'<h3 id="h-link">{_E(text("link.section"))}</h3>',
        f"<figure>{link_chart(s)}</figure>",
        tables["3c"],
        '<p class="note">'
        + _E(
            text(
                "link.note",
                abstained=s.link_abstained,
                passive=s.link_abstained_with.get("passive", 0),
                directive=s.link_abstained_with.get("directive", 0),
            )
        )
        + "</p>",
    ]
    if s.exemplars:
        parts.append(f'<h3 id="h-exemplars">{_E(text("ex.section"))}</h3>')
        parts.append(f'<p class="note">{_E(text("ex.note"))}</p>')
        for pattern, exs in s.exemplars.items():
            parts.append(f"<h4>{_E(text('pattern.' + pattern))}</h4>")
            if not exs:
                parts.append(f'<p class="note">{_E(text("ex.none"))}</p>')
                continue
            items = []
            for e in exs:
                where = text(
                    "ex.where",
                    cid=e.conversation_id,
                    window=e.window_index,
                    overall="n/a" if e.window_overall is None else f"{e.window_overall:.2f}",
                    score=f"{e.score:.2f}",
                )
                turns = "".join(
                    f'<blockquote class="turn-{_a(role)}"><strong>'
                    f"{_E(text('role.' + role))}:</strong> {_E(t)}</blockquote>"
                    for role, t in e.turns
                )
                items.append(
                    f'<li class="exemplar" data-pattern="{_a(pattern)}">'
                    f'<p class="note">{_E(where)}</p>{turns}</li>'
                )
            parts.append(f'<ul class="exemplars">{"".join(items)}</ul>')
    return "".join(parts)


def _items_section(s: StudySummary, tables: dict[str, str]) -> str:
    if "1b" not in tables:
        return f'<p class="note">{_E(text("items.none"))}</p>'
    return (
        f'<h3 id="h-items">{_E(text("items.section"))}</h3>'
        + tables["1b"]
        + f'<p class="note">{_E(text("items.note"))}</p>'
    )


def render_report(
    summary: StudySummary, views: Sequence[dict[str, Any]], *, total_pairs: int | None = None
) -> str:
    """The whole report as one HTML string, in the summary's language."""
    with report_language(summary.language):
        return _render_report(summary, views, total_pairs)


def _render_report(
    summary: StudySummary, views: Sequence[dict[str, Any]], total_pairs: int | None
) -> str:
    s = summary
    n = s.n_phase_analysis
    tables = _tables(s)
    total = total_pairs if total_pairs is not None else len(views)
    excluded = ", ".join(f"{k}: {v}" for k, v in sorted(s.excluded.items())) or text("report.none")
    shown = (
        text("report.shown.some", k=len(views), n=total)
        if total > len(views)
        else text("report.shown.all", n=total)
    )
    friedman_rows = "".join(
        "<li>"
        + _E(
            text(
                "report.friedman.row",
                dim=DIM_LABELS[p.dimension],
                chi2="n/a" if p.friedman.statistic is None else f"{p.friedman.statistic:.2f}",
                p=fmt_p(p.friedman.p_value),
                w="n/a" if p.friedman.kendall_w is None else f"{p.friedman.kendall_w:.3f}",
                change=fmt_signed_ci(p.change),
            )
        )
        + "</li>"
        for p in s.phases
    )
    title = text("report.title")
    parts = [
        "<!doctype html>",
        f'<html lang="{_a(text("report.html_lang"))}"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_a(CSP)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{_E(title)}{': ' + _E(s.input_name) if s.input_name else ''}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<header><h1>{_E(title)}"
        + (f": <code>{_E(s.input_name)}</code>" if s.input_name else "")
        + "</h1>",
        '<p class="meta">'
        + _E(text("report.meta.pairs", n=s.n_pairs))
        + (
            _E(text("report.meta.sessions", n=s.n_transcripts))
            if s.n_transcripts != s.n_pairs
            else ""
        )
        + (text("report.meta.scorer", scorer=_E(s.scorer)) if s.scorer else "")
        + _E(text("report.meta.phase", n=n, excluded=excluded))
        + f" · alliance-monitor {_E(__version__)}</p>",
        f'<nav class="toc" aria-label="{_a(text("report.nav"))}">'
        + "".join(
            f'<a href="#{a}">{_E(text("report.nav." + a))}</a>'
            for a in ("phases", "trajectories", "patterns", "sessions", "feedback", "pairs")
        )
        + "</nav></header>"
        "<main>",
        '<section id="phases" aria-labelledby="h-phases"><h2 id="h-phases">'
        f"{_E(text('report.h.phases'))}</h2>",
        f"<figure>{phase_chart(s)}<figcaption>"
        + _E(text("report.phase.caption", n=n, level=f"{100 * s.confidence_level:.0f}%"))
        + "</figcaption></figure>",
        tables.get("1", ""),
        f'<p class="note">{_E(text("report.friedman.note"))}</p>',
        f'<ul class="note">{friedman_rows}</ul>',
        _items_section(s, tables),
        _distribution_section(s, tables),
        "</section>",
        '<section id="trajectories" aria-labelledby="h-traj"><h2 id="h-traj">'
        f"{_E(text('report.h.trajectories'))}</h2>",
        f"<figure>{trajectory_chart(s)}<figcaption>"
        + _E(text("report.traj.caption", tol=s.tolerance))
        + "</figcaption></figure>",
        '<p class="note" id="decline-definition">' + _E(text("report.traj.declined")) + "</p>",
        tables.get("2", ""),
        "</section>",
        '<section id="patterns" aria-labelledby="h-pat"><h2 id="h-pat">'
        f"{_E(text('report.h.patterns'))}</h2>",
        f"<figure><h3>{_E(text('report.pat.by_level'))}</h3>"
        + pattern_chart(s.patterns_by_level, "level", text("report.pat.by_level.chart"))
        + (
            f"<h3>{_E(text('report.pat.by_third'))}</h3>"
            + pattern_chart(s.patterns_by_tercile, "tercile", text("report.pat.by_third.chart"))
            if s.patterns_by_tercile
            else ""
        )
        + _pattern_legend()
        + f"<figcaption>{_E(text('report.pat.caption'))}</figcaption></figure>",
        "".join(tables.get(k, "") for k in ("3", "3b")),
        _link_section(s, tables),
        tables.get("4", ""),
        ""
        if s.patterns_by_counselor
        else f'<p class="note">{_E(text("report.no_counselors"))}</p>',
        "</section>",
        _sessions_section(s, tables),
        _feedback_section(s, tables),
        '<section id="pairs" aria-labelledby="h-pairs"><h2 id="h-pairs">'
        f"{_E(text('report.h.pairs'))}</h2>",
        f'<p class="note">{_E(text("report.pairs.note", shown=shown))}</p>',
        '<ul class="sparks">' + "".join(_spark_button(v) for v in views) + "</ul></section>",
        "</main>",
        f'<footer><p class="note">{_E(text("report.footer"))}</p></footer>',
        '<dialog id="pair-dialog" aria-labelledby="pv-title"><form method="dialog">'
        f'<button class="pv-close" type="submit">{_E(text("report.close"))}</button></form>'
        '<div id="pair-view"></div></dialog>',
        f'<script type="application/json" id="pair-data">'
        f"{json_for_script({v['id']: v for v in views})}</script>",
        f"<script>{PAIR_JS}{_REPORT_JS}</script>",
        "</body></html>",
    ]
    return "\n".join(parts)


_REPORT_JS = r"""
(() => {
  const data = JSON.parse(document.getElementById("pair-data").textContent);
  const dialog = document.getElementById("pair-dialog");
  const target = document.getElementById("pair-view");
  function open(id) {
    const p = data[id];
    if (!p) return;
    target.replaceChildren(AM.renderPair(p));
    if (!dialog.open) dialog.showModal();
  }
  document.querySelectorAll("button.spark").forEach((b) => {
    b.addEventListener("click", () => open(b.dataset.pair));
  });
  window.addEventListener("beforeprint", () => { if (dialog.open) dialog.close(); });
})();
"""
