"""The terminal table of an `EvaluationReport`."""

from __future__ import annotations

from ._agreement import Interval
from ._evaluate import EvaluationReport, TaskResult

__all__ = ["format_table"]

_METRIC = {"auc": "AUC", "spearman": "Spearman", "pearson": "Pearson", "icc": "ICC(2,1)"}


def _iv(i: Interval, signed: bool = False) -> str:
    if i.value is None:
        return "n/a"
    f = "{:+.3f}" if signed else "{:.3f}"
    g = "{:+.2f}" if signed else "{:.2f}"
    ci = f" [{g.format(i.lo)}, {g.format(i.hi)}]" if i.lo is not None and i.hi is not None else ""
    return f.format(i.value) + ci


def _some(names: list[str], k: int = 8) -> str:
    return ", ".join(names[:k]) + (f" and {len(names) - k} more" if len(names) > k else "")


def _n(r: TaskResult) -> str:
    if r.n_positive is not None:
        return f"{r.n:,} ({r.n_positive:,}+)"
    return f"{r.n:,}"


def rater_lines(results: list[TaskResult]) -> list[str]:
    """The labels' own raters (labels holding several raters' ratings per item)."""
    out = []
    for r in results:
        a = r.raters
        if a is None:
            continue
        other = (
            f"; {a.n_other_k} items with another number of raters left out" if a.n_other_k else ""
        )
        out.append(
            f"  raters of {r.task.level} {r.task.label}: k = {a.k}, {a.n:,} items in "
            f"{a.n_conversations:,} conversations: ICC(2,1) {_iv(a.icc_1)}, ICC(2,k) "
            f"{_iv(a.icc_k)} (the scorer is compared with their mean){other}"
        )
    return out


def format_table(rep: EvaluationReport) -> str:
    pct = f"{rep.confidence:.0%}"
    lines = [
        f"evaluate {rep.input}: {rep.n_conversations:,} conversations, {rep.n_messages:,} "
        f"messages ({rep.prefix_reason})",
        f"scorer {rep.scorer} ({rep.scoring_seconds:.1f}s); "
        + (
            f"{pct} intervals from {rep.n_bootstrap} bootstrap resamples of conversations, "
            f"seed {rep.seed}"
            if rep.n_bootstrap
            else "no bootstrap (--bootstrap 0)"
        )
        + f"; {rep.total_seconds:.1f}s in all",
        "",
    ]
    head = (
        "level",
        "label ~ target",
        "n",
        "metric",
        f"scorer [{pct} CI]",
        f"baseline [{pct} CI]",
        "scorer - baseline",
    )
    rows: list[tuple[str, ...]] = []
    for r in rep.results:
        for k, m in enumerate(r.metrics):
            first = k == 0
            rows.append(
                (
                    r.task.level if first else "",
                    f"{r.task.label} ~ {r.task.target}" if first else "",
                    _n(r) if first else "",
                    _METRIC.get(m.name, m.name),
                    _iv(m.scorer),
                    _iv(m.baseline) + ("*" if r.baseline_reversed else ""),
                    _iv(m.delta, signed=True),
                )
            )
    widths = [
        max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(head)
    ]
    right = {2}

    def fmt(row: tuple[str, ...]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()

    if rows:
        lines.append(fmt(head))
        lines.append("  ".join("-" * w for w in widths))
        lines.extend(fmt(row) for row in rows)
    else:
        lines.append("no figures:")
        lines.extend(
            f"  {ne['level']} {ne['label']}: {ne['reason']}"
            for ne in rep.not_evaluated
            if not ne["reason"].startswith(("not a label", "recognised"))
        )
    lines.append("")
    lines.append("definitions:")
    for r in rep.results:
        t = r.task
        if t.binary:
            neg = "|".join(t.negative) if t.negative else "every other value"
            what = f"positive {'|'.join(t.positive)}; negative {neg}"
        else:
            what = "numeric" + ("; same 1-5 scale as the scorer, so ICC" if r.same_scale else "")
        src = f" [{t.source}]" if t.source else ""
        extra = f"; {r.n_unscored} without a score" if r.n_unscored else ""
        if r.n_abstained:
            extra += f"; {r.n_abstained} the scorer abstained on " + (
                "(left out)" if r.abstained_skipped else "(included)"
            )
        lines.append(f"  {t.level} {t.label} ~ {t.target}: {what}{src}{extra}")
    lines.extend(rater_lines(rep.results))
    if any(r.baseline_reversed for r in rep.results):
        lines.append(
            "  * baseline credited in its better direction (longer turns went with the "
            "negative class)"
        )
    lines.append(
        "  baselines: passive = no question mark; directive = English keyword list; session and "
        "phase = counselor turn length. AUC 0.5 and r 0 are no signal."
    )
    if rep.n_no_scores:
        lines.append(f"  {rep.n_no_scores} conversation(s) had no scored window (neutral 3 used)")
    if rep.scorer_stats:
        counters = [
            f"{k}={v:,}"
            for k, v in rep.scorer_stats.items()
            if isinstance(v, int) and not isinstance(v, bool) and v
        ]
        if counters:
            lines.append(f"  scorer counters: {', '.join(counters)}")
    if rep.rejected:
        rej = ", ".join(f"{k}={v}" for k, v in sorted(rep.rejected.items()))
        lines.append(f"  rejected: {rej}")
    if rep.not_evaluated:
        by_level: dict[str, list[str]] = {}
        for ne in rep.not_evaluated:
            by_level.setdefault(ne["level"], []).append(ne["label"])
        lines.append(
            "  not evaluated (--json says why): "
            + "; ".join(f"{lv}: {_some(sorted(set(ns)))}" for lv, ns in by_level.items())
        )
    return "\n".join(lines)
