"""`evaluate --compare`: several scorers or prompt variants on the same labelled input, one table.

The paper compared prompt variants side by side (guidelines, reasoning, several samples
averaged) against the same expert ratings. Here every variant is one `evaluate_file` run on the
same input, with the same prefix rule, the same bootstrap (resamples and seed) and the same
trivial baseline, so the columns differ only by the scorer:

    alliance-monitor evaluate rated.jsonl --llm-base-url URL --llm-model M \\
        --compare embedded \\
        --compare "--scorer llm --llm-prompt-version v1" \\
        --compare "--scorer llm --llm-prompt-version v2" \\
        --compare "--scorer llm --llm-prompt-version v2 --llm-samples 3"

A SPEC is the scorer options of one variant (`--scorer`, the `--llm-*` options,
`--scorer-option K=V`, or `--scores FILE` / `--command CMD` for outputs made elsewhere), on top
of the options given once outside the specs; a bare word is `--scorer WORD`; `--name NAME`
names the column. Intervals are per variant (cluster bootstrap over conversations); when the
label holds several raters, their own ICC(2,k) is reported once (it does not depend on the
scorer).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._errors import ConfigError
from ..scoring import Scorer
from ._agreement import Interval
from ._evaluate import EvaluationReport, evaluate_file

__all__ = ["Comparison", "Variant", "compare_file", "format_comparison"]

_METRIC = {"auc": "AUC", "spearman": "Spearman", "pearson": "Pearson", "icc": "ICC(2,1)"}


@dataclass(frozen=True, slots=True)
class Variant:
    """One column: a name and where its scores come from (exactly one of the three)."""

    name: str
    make_scorer: Callable[[], Scorer] | None = None
    command: str | None = None
    scores: str | None = None


@dataclass
class Comparison:
    input: str
    variants: list[Variant]
    reports: list[EvaluationReport] = field(default_factory=list)

    def rows(self) -> list[dict[str, Any]]:
        """One row per (task, metric) found in any variant, in first-seen order."""
        keys: list[tuple[str, str, str, str]] = []
        found: dict[tuple[str, str, str, str], list[Any]] = {}
        for i, rep in enumerate(self.reports):
            for r in rep.results:
                for m in r.metrics:
                    key: tuple[str, str, str, str] = (
                        str(r.task.level),
                        r.task.label,
                        r.task.target,
                        m.name,
                    )
                    if key not in found:
                        keys.append(key)
                        found[key] = [None] * len(self.reports)
                    found[key][i] = (r, m)
        out = []
        for key in keys:
            cells = found[key]
            first = next(c for c in cells if c is not None)
            out.append(
                {
                    "level": key[0],
                    "label": key[1],
                    "target": key[2],
                    "metric": key[3],
                    "n": [c[0].n if c else None for c in cells],
                    "values": [_iv(c[1].scorer) if c else None for c in cells],
                    "baseline": _iv(first[1].baseline),
                }
            )
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "variants": [
                {"name": v.name, "report": rep.to_json()}
                for v, rep in zip(self.variants, self.reports, strict=True)
            ],
            "table": self.rows(),
        }


def _iv(i: Interval) -> dict[str, Any]:
    def r(x: float | None) -> float | None:
        return None if x is None else round(x, 6)

    return {"value": r(i.value), "ci": [r(i.lo), r(i.hi)]}


def compare_file(
    path: str,
    variants: Sequence[Variant],
    *,
    progress: Callable[[str], Callable[[int], None] | None] | None = None,
    **options: Any,
) -> Comparison:
    """Evaluate every variant on `path` with the same `options` (those of `evaluate_file`:
    labels, prefix, n_bootstrap, seed, confidence, concurrency, skip_abstained, jobs)."""
    if len(variants) < 2:
        raise ConfigError("--compare needs at least two variants")
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise ConfigError("--compare: two variants have the same name (give --name NAME)")
    out = Comparison(path, list(variants))
    for v in variants:
        scorer = v.make_scorer() if v.make_scorer is not None else None
        out.reports.append(
            evaluate_file(
                path,
                scorer=scorer,
                command=v.command,
                scores=v.scores,
                scorer_name=v.name,
                close_scorer=scorer is not None,
                progress=progress(v.name) if progress else None,
                **options,
            )
        )
    return out


def _cell(v: dict[str, Any] | None, n: int | None, n0: int | None) -> str:
    if v is None or v["value"] is None:
        return "n/a"
    lo, hi = v["ci"]
    text = f"{v['value']:.3f}" + (f" [{lo:.2f}, {hi:.2f}]" if lo is not None else "")
    return text + (f" (n={n:,})" if n is not None and n != n0 else "")


def format_comparison(c: Comparison) -> str:
    from ._report import rater_lines

    first = c.reports[0]
    pct = f"{first.confidence:.0%}"
    lines = [
        f"evaluate --compare {c.input}: {first.n_conversations:,} conversations, "
        f"{first.n_messages:,} messages ({first.prefix_reason})",
        (
            f"{pct} intervals from {first.n_bootstrap} bootstrap resamples of conversations, "
            f"seed {first.seed}, for every variant"
            if first.n_bootstrap
            else "no bootstrap (--bootstrap 0)"
        ),
        "variants: "
        + "; ".join(
            f"{v.name} ({rep.scoring_seconds:.1f}s)"
            for v, rep in zip(c.variants, c.reports, strict=True)
        ),
        "",
    ]
    head = [
        "level",
        "label ~ target",
        "metric",
        "n",
        *(f"{v.name} [{pct} CI]" for v in c.variants),
        "baseline",
    ]
    rows: list[list[str]] = []
    last = None
    for row in c.rows():
        task = (row["level"], f"{row['label']} ~ {row['target']}")
        n0 = next((n for n in row["n"] if n is not None), None)
        rows.append(
            [
                task[0] if task != last else "",
                task[1] if task != last else "",
                _METRIC.get(row["metric"], row["metric"]),
                f"{n0:,}" if n0 is not None else "",
                *(_cell(v, n, n0) for v, n in zip(row["values"], row["n"], strict=True)),
                _cell(row["baseline"], None, None),
            ]
        )
        last = task
    if rows:
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
        lines.append("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip())
        lines.append("  ".join("-" * w for w in widths))
        lines += [
            "  ".join(x.ljust(w) for x, w in zip(r, widths, strict=True)).rstrip() for r in rows
        ]
    else:
        lines.append("no figures: no variant had a score for a labelled item")
    lines.append("")
    raters = rater_lines(first.results)
    if raters:
        lines.append("the labels' own raters (the same for every variant):")
        lines += raters
    lines.append(
        "notes: (n=...) in a cell: that variant scored a different number of items (unscored "
        "windows); baseline: the trivial one of the first variant's items (docs/evaluate.md)."
    )
    return "\n".join(lines)
