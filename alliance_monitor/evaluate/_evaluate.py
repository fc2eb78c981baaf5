"""`evaluate_file`: agreement of a scorer with the labels carried by a transcript file.

The pipeline: read every record (labels kept aside, never shown to the scorer), choose the
tasks (`_labels`), cut conversations to equal-length prefixes where the labels call for it,
score the bare transcripts (an in-process `Scorer`, an external command with `analyze`'s
``{input}``/``{output}`` contract, or a saved `analyze` output), compute the trivial baselines
on the same transcripts, and for every task the figure, its cluster-bootstrap interval, the
baseline's, and the paired difference.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shlex
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio

from .._batch import PHASES, TranscriptResult, analyze_transcript_async
from .._errors import AllianceMonitorError, ConfigError, InvalidMessage
from .._io import Rejection, Transcript, iter_lines, parse_transcript
from ..scoring import Scorer, SyncScorer
from ._agreement import Bootstrap, Interval, Prepared, Raters, Statistic, minus
from ._baseline import baseline_record
from ._labels import (
    PREFIX_RULES,
    LabelInventory,
    LabelOptions,
    LabelTask,
    auto_tasks,
    binary_value,
    numeric_value,
    option_tasks,
    phase_labels,
    rater_values,
    unrecognised,
)

__all__ = [
    "EvaluationError",
    "EvaluationReport",
    "MetricResult",
    "RaterAgreement",
    "TaskResult",
    "evaluate_file",
]

log = logging.getLogger("alliance_monitor.evaluate")

Prefix = int | None | Literal["auto"]


class EvaluationError(AllianceMonitorError):
    """The evaluation could not run: no labels to judge, a scorer command that failed, or a
    scorer output that does not match the input. Messages never contain transcript text."""


# ---------------------------------------------------------------------- results
@dataclass(frozen=True, slots=True)
class MetricResult:
    """One figure (auc, spearman, pearson or icc) for the scorer and the baseline."""

    name: str
    scorer: Interval
    baseline: Interval
    #: scorer − baseline, with its paired bootstrap interval.
    delta: Interval

    def to_json(self) -> dict[str, Any]:
        def iv(i: Interval) -> dict[str, Any]:
            return {"value": _r(i.value), "ci": [_r(i.lo), _r(i.hi)]}

        return {
            "scorer": iv(self.scorer),
            "baseline": iv(self.baseline),
            "delta": iv(self.delta),
            "bootstrap_defined": self.scorer.n_defined,
        }


@dataclass(frozen=True, slots=True)
class RaterAgreement:
    """The label's own raters, when it holds several per item (a list of numbers): ICC(2,1)
    (one rater) and ICC(2,k) (their mean, what the scorer is compared with), on the items
    rated by the most common number of raters `k`, with cluster-bootstrap intervals."""

    k: int
    n: int
    n_conversations: int
    icc_1: Interval
    icc_k: Interval
    #: Items rated by another number of raters (left out of these two figures).
    n_other_k: int = 0

    def to_json(self) -> dict[str, Any]:
        def iv(i: Interval) -> dict[str, Any]:
            return {"value": _r(i.value), "ci": [_r(i.lo), _r(i.hi)]}

        return {
            "raters": self.k,
            "n": self.n,
            "n_conversations": self.n_conversations,
            "icc2_1": iv(self.icc_1),
            "icc2_k": iv(self.icc_k),
            "n_other_rater_counts": self.n_other_k,
        }


@dataclass(frozen=True, slots=True)
class TaskResult:
    task: LabelTask
    n: int
    n_conversations: int
    n_positive: int | None
    n_negative: int | None
    #: Items with a label but without the scorer's answer (unscored window, missing output).
    n_unscored: int
    #: Sessions or phases on which the scorer abstained (insufficient evidence or unscored):
    #: included with the number it gave, or left out with ``skip_abstained``.
    n_abstained: int
    abstained_skipped: bool
    #: Session-level baseline credited in its better direction (as dev_eval.py does).
    baseline_reversed: bool
    same_scale: bool
    metrics: tuple[MetricResult, ...]
    #: The label's raters among themselves (labels with several raters per item only).
    raters: RaterAgreement | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            **self.task.to_json(),
            "n": self.n,
            "n_conversations": self.n_conversations,
            "n_positive": self.n_positive,
            "n_negative": self.n_negative,
            "n_unscored": self.n_unscored,
            "n_abstained": self.n_abstained,
            "abstained_skipped": self.abstained_skipped,
            "same_scale": self.same_scale,
            "baseline_reversed": self.baseline_reversed,
            "metrics": {m.name: m.to_json() for m in self.metrics},
            "raters": self.raters.to_json() if self.raters else None,
        }


@dataclass
class EvaluationReport:
    input: str
    scorer: str
    n_conversations: int
    n_messages: int
    prefix: int | None
    prefix_reason: str
    n_bootstrap: int
    seed: int
    confidence: float
    scoring_seconds: float
    total_seconds: float = 0.0
    results: list[TaskResult] = field(default_factory=list)
    not_evaluated: list[dict[str, str]] = field(default_factory=list)
    rejected: dict[str, int] = field(default_factory=dict)
    n_no_scores: int = 0
    #: The scorer's own counters when it keeps them (the cascade: windows, LLM calls, tokens).
    scorer_stats: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "scorer": self.scorer,
            "conversations": self.n_conversations,
            "messages": self.n_messages,
            "prefix": self.prefix,
            "prefix_reason": self.prefix_reason,
            "bootstrap": {
                "resamples": self.n_bootstrap,
                "seed": self.seed,
                "confidence": self.confidence,
                "unit": "conversation",
                "interval": "percentile",
            },
            "baseline": "passive: no question mark; directive: English keyword list; session "
            "and phase: mean counselor turn length (1 + 4 min(1, words/40))",
            "scoring_seconds": round(self.scoring_seconds, 3),
            "total_seconds": round(self.total_seconds, 3),
            "conversations_without_scores": self.n_no_scores,
            "rejected": dict(sorted(self.rejected.items())),
            "scorer_stats": self.scorer_stats,
            "results": [r.to_json() for r in self.results],
            "not_evaluated": self.not_evaluated,
        }


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 6)


# ---------------------------------------------------------------------- reading
@dataclass
class _Record:
    line: int
    raw: dict[str, Any]
    transcript: Transcript | None = None


def _read(path: str, rejects: list[Rejection], dup: Counter[str]) -> list[_Record]:
    from .._errors import RejectReason

    out: list[_Record] = []
    seen: set[str] = set()
    for n, obj in iter_lines(path):
        if isinstance(obj, InvalidMessage):
            rejects.append(Rejection(n, RejectReason.INVALID_JSON))
            continue
        cid = obj.get("conversation_id") if isinstance(obj, dict) else None
        if (
            not isinstance(obj, dict)
            or not isinstance(cid, str)
            or not cid
            or not isinstance(obj.get("messages"), list)
        ):
            parse_transcript(n, obj, rejects)  # records the reason
            continue
        if cid in seen:
            dup["duplicate_conversation"] += 1
            continue
        seen.add(cid)
        out.append(_Record(n, obj))
    return out


def _bare(raw: Mapping[str, Any], prefix: int | None) -> dict[str, Any]:
    """The record without any label (what a scorer may see), cut to `prefix` messages."""
    msgs = raw["messages"][:prefix] if prefix else raw["messages"]
    return {
        **{k: v for k, v in raw.items() if k not in ("labels", "messages")},
        "messages": [
            {k: v for k, v in m.items() if k != "labels"} if isinstance(m, dict) else m
            for m in msgs
        ],
    }


# ---------------------------------------------------------------------- scoring
def _score_in_process(
    transcripts: Sequence[Transcript],
    scorer: Scorer,
    concurrency: int,
    progress: Callable[[int], None] | None,
    close: bool,
    jobs: int = 1,
) -> dict[str, dict[str, Any]]:
    if isinstance(scorer, SyncScorer):
        from .._batch_lines import records_of

        out = {}
        try:
            for tr, record in zip(
                transcripts, records_of(scorer, transcripts, jobs=jobs), strict=True
            ):
                out[tr.conversation_id] = record
                if progress:
                    progress(1)
        finally:
            if close:
                anyio.run(scorer.aclose)
        return out

    async def run() -> list[TranscriptResult | None]:
        results: list[TranscriptResult | None] = [None] * len(transcripts)
        limiter = anyio.CapacityLimiter(max(1, concurrency))

        async def one(i: int, tr: Transcript) -> None:
            async with limiter:
                results[i] = await analyze_transcript_async(tr.conversation_id, tr.messages, scorer)
                if progress:
                    progress(1)

        try:
            async with anyio.create_task_group() as tg:
                for i, tr in enumerate(transcripts):
                    tg.start_soon(one, i, tr)
        finally:
            if close:  # in this event loop: an HTTP client cannot be closed from another one
                await scorer.aclose()
        return results

    got = anyio.run(run)
    return {r.conversation_id: r.to_json() for r in got if r is not None}


def _read_outputs(path: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    bad = 0
    for _n, obj in iter_lines(path):
        cid = obj.get("conversation_id") if isinstance(obj, dict) else None
        if isinstance(obj, dict) and isinstance(cid, str):
            out.setdefault(cid, obj)
        else:
            bad += 1
    if bad:
        log.warning("scorer output: %d line(s) without a conversation_id ignored", bad)
    return out


def _score_command(
    records: Sequence[_Record], prefix: int | None, command: str
) -> dict[str, dict[str, Any]]:
    argv = shlex.split(command)
    if not argv or not any("{input}" in a for a in argv) or not any("{output}" in a for a in argv):
        raise ConfigError("--command needs {input} and {output} in it, as `analyze` takes them")
    with tempfile.TemporaryDirectory(prefix="alliance-evaluate-") as tmp:
        src, dst = os.path.join(tmp, "input.jsonl"), os.path.join(tmp, "output.jsonl")
        with open(src, "w", encoding="utf-8") as f:
            for rec in records:
                f.write(json.dumps(_bare(rec.raw, prefix), ensure_ascii=False) + "\n")
        argv = [a.replace("{input}", src).replace("{output}", dst) for a in argv]
        # The command's own stderr goes straight to ours: we never copy it into an error.
        proc = subprocess.run(argv, stdout=subprocess.DEVNULL, check=False)
        if proc.returncode != 0:
            raise EvaluationError(f"the scorer command exited with status {proc.returncode}")
        if not os.path.exists(dst):
            raise EvaluationError("the scorer command wrote no output file at {output}")
        return _read_outputs(dst)


# ---------------------------------------------------------------------- tasks -> figures
def _get(out: Mapping[str, Any] | None, *keys: str) -> float | None:
    cur: Any = out
    for k in keys:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(k)
    return numeric_value(cur)


@dataclass
class _Items:
    x: list[float] = field(default_factory=list)  # scorer
    b: list[float] = field(default_factory=list)  # baseline
    y: list[float] = field(default_factory=list)  # label
    cluster: list[str] = field(default_factory=list)
    unscored: int = 0
    abstained: int = 0
    #: Several raters' ratings of each labelled item (whatever the scorer did), by cluster.
    raters: list[list[float]] = field(default_factory=list)
    rater_cluster: list[str] = field(default_factory=list)

    def add_raters(self, task: LabelTask, value: Any, cluster: str) -> None:
        rv = None if task.binary else rater_values(value)
        if rv is not None and len(rv) >= 2:
            self.raters.append(rv)
            self.rater_cluster.append(cluster)

    def add(self, x: float | None, b: float | None, y: float, cluster: str) -> None:
        if x is None or b is None:
            self.unscored += 1
            return
        self.x.append(x)
        self.b.append(b)
        self.y.append(y)
        self.cluster.append(cluster)


def _label_of(task: LabelTask, value: Any) -> float | None:
    if task.binary:
        v = binary_value(task, value)
        return None if v is None else float(v)
    return numeric_value(value)


def _abstained(out: Mapping[str, Any] | None, phases: Sequence[str]) -> bool:
    """Did the scorer abstain (insufficient evidence, unscored) on all of these phases?"""
    status = out.get("phase_status") if out else None
    if not isinstance(status, dict):
        return False  # a scorer output without statuses: nothing to say
    return not any(status.get(p, "scored") == "scored" for p in phases)


def _items(
    task: LabelTask,
    records: Sequence[_Record],
    outputs: Mapping[str, dict[str, Any]],
    baselines: Mapping[str, dict[str, Any]],
    skip_abstained: bool = False,
) -> _Items:
    it = _Items()
    for rec in records:
        tr = rec.transcript
        if tr is None:
            continue
        cid = tr.conversation_id
        out, base = outputs.get(cid), baselines[cid]
        if task.level == "message":
            raw_labels = {
                m.get("id"): m.get("labels")
                for m in rec.raw["messages"]
                if isinstance(m, dict) and isinstance(m.get("labels"), dict)
            }
            got = {m.get("id"): m for m in (out or {}).get("messages", []) if isinstance(m, dict)}
            ref = {m["id"]: m for m in base["messages"]}
            for msg in tr.messages:
                labels = raw_labels.get(msg.id)
                if msg.id not in ref or not labels or task.label not in labels:
                    continue  # not a counselor message, or not labelled
                y = _label_of(task, labels[task.label])
                if y is None:
                    continue
                it.add(_get(got.get(msg.id), task.target), ref[msg.id][task.target], y, cid)
        elif task.level == "session":
            labels = rec.raw.get("labels")
            if not isinstance(labels, dict) or task.label not in labels:
                continue
            y = _label_of(task, labels[task.label])
            if y is None:
                continue
            it.add_raters(task, labels[task.label], cid)
            if _abstained(out, PHASES):
                it.abstained += 1
                if skip_abstained:
                    continue
            it.add(_get(out, "alliance", task.target), base["alliance"][task.target], y, cid)
        else:
            for phase in PHASES:
                pl = phase_labels(rec.raw, phase)
                if task.label not in pl:
                    continue
                y = _label_of(task, pl[task.label])
                if y is None:
                    continue
                it.add_raters(task, pl[task.label], cid)
                if _abstained(out, (phase,)):
                    it.abstained += 1
                    if skip_abstained:
                        continue
                it.add(
                    _get(out, "phases", phase, task.target),
                    base["phases"][phase][task.target],
                    y,
                    cid,
                )
    return it


def _figures(task: LabelTask, it: _Items, boot: Bootstrap, skipped: bool) -> TaskResult:
    scorer, base = Prepared(it.x, it.y), Prepared(it.b, it.y)
    reversed_ = False
    if task.binary:
        names = ["auc"]
        if task.level != "message":
            a = base.auc(None)
            if a is not None and a < 0.5:  # length separates either way: credit the better one
                base = Prepared([-v for v in it.b], it.y)
                reversed_ = True
        stats: list[tuple[Statistic, Statistic]] = [(scorer.auc, base.auc)]
        same_scale = False
    else:
        same_scale = (
            task.same_scale
            if task.same_scale is not None
            else task.level != "message" and all(1 <= v <= 5 for v in it.y)
        )
        names = ["spearman", "pearson"] + (["icc"] if same_scale else [])
        stats = [(scorer.spearman, base.spearman), (scorer.pearson, base.pearson)]
        if same_scale:
            stats.append((scorer.icc, base.icc))
    flat = [s for pair in stats for s in pair]
    reps = boot.run(flat)
    metrics = []
    for i, (name, (fs, fb)) in enumerate(zip(names, stats, strict=True)):
        vs, vb = fs(None), fb(None)
        rs, rb = reps[2 * i], reps[2 * i + 1]
        metrics.append(
            MetricResult(
                name,
                boot.summarise(vs, rs),
                boot.summarise(vb, rb),
                boot.summarise(minus(vs, vb), list(map(minus, rs, rb))),
            )
        )
    n_pos = sum(1 for v in it.y if v) if task.binary else None
    raters = _rater_agreement(it, boot)
    return TaskResult(
        task=task,
        n=len(it.y),
        n_conversations=len(set(it.cluster)),
        n_positive=n_pos,
        n_negative=len(it.y) - n_pos if n_pos is not None else None,
        n_unscored=it.unscored,
        n_abstained=it.abstained,
        abstained_skipped=skipped,
        baseline_reversed=reversed_,
        same_scale=same_scale,
        metrics=tuple(metrics),
        raters=raters,
    )


def _rater_agreement(it: _Items, boot: Bootstrap) -> RaterAgreement | None:
    if not it.raters:
        return None
    k = Counter(len(r) for r in it.raters).most_common(1)[0][0]
    keep = [i for i, r in enumerate(it.raters) if len(r) == k]
    rows = [it.raters[i] for i in keep]
    clusters = [it.rater_cluster[i] for i in keep]
    r = Raters(rows)
    rb = Bootstrap(clusters, boot.n_resamples, seed=boot.seed, level=boot.level)
    reps = rb.run([r.icc_1, r.icc_k])
    return RaterAgreement(
        k=k,
        n=len(rows),
        n_conversations=len(set(clusters)),
        icc_1=rb.summarise(r.icc_1(None), reps[0]),
        icc_k=rb.summarise(r.icc_k(None), reps[1]),
        n_other_k=len(it.raters) - len(rows),
    )


# ---------------------------------------------------------------------- entry point
def evaluate_file(
    path: str,
    *,
    scorer: Scorer | None = None,
    command: str | None = None,
    scores: str | None = None,
    scorer_name: str | None = None,
    labels: LabelOptions | None = None,
    prefix: Prefix = "auto",
    n_bootstrap: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    concurrency: int = 4,
    save_scores: str | None = None,
    skip_abstained: bool = False,
    close_scorer: bool = False,
    progress: Callable[[int], None] | None = None,
    jobs: int = 1,
) -> EvaluationReport:
    """Evaluate one scorer on the labels in `path` (transcript JSONL with labels).

    Give exactly one of `scorer` (an in-process scorer, closed at the end of scoring, in its
    event loop, when `close_scorer` is set), `command` (a command
    line with ``{input}`` and ``{output}``, run once on the label-free transcripts) or `scores`
    (a file `analyze` or `save_scores` wrote for this input, with the same prefix).

    `prefix`: judge conversations on their first N messages (None: whole; "auto": the rule of a
    recognised data set, e.g. 20 for AnnoMI). `skip_abstained`: leave out sessions and phases on
    which the scorer abstained (``phase_status`` other than scored) instead of judging the
    number it gave. `jobs`: worker processes for a synchronous scorer (the embedded one; the
    figures are the same with any number). Raises `ConfigError` for bad options and
    `EvaluationError` when nothing can be judged.
    """
    # Scoring closes the scorer in its own event loop; when something fails before scoring
    # starts, it is closed here instead (it has not touched any event loop yet).
    pending = [close_scorer and scorer is not None]
    try:
        return _evaluate(
            path,
            scorer,
            command,
            scores,
            scorer_name,
            labels,
            prefix,
            n_bootstrap,
            seed,
            confidence,
            concurrency,
            save_scores,
            skip_abstained,
            pending,
            progress,
            jobs,
        )
    finally:
        if pending[0] and scorer is not None:
            anyio.run(scorer.aclose)


def _evaluate(
    path: str,
    scorer: Scorer | None,
    command: str | None,
    scores: str | None,
    scorer_name: str | None,
    labels: LabelOptions | None,
    prefix: Prefix,
    n_bootstrap: int,
    seed: int,
    confidence: float,
    concurrency: int,
    save_scores: str | None,
    skip_abstained: bool,
    pending_close: list[bool],
    progress: Callable[[int], None] | None,
    jobs: int = 1,
) -> EvaluationReport:
    started = time.perf_counter()
    if sum(x is not None for x in (scorer, command, scores)) != 1:
        raise ConfigError("give exactly one of scorer, command or scores")
    if n_bootstrap < 0:
        raise ConfigError("the bootstrap count must be >= 0")
    if not 0 < confidence < 1:
        raise ConfigError("the confidence level must be between 0 and 1")
    opts = (labels or LabelOptions()).validated()
    rejects: list[Rejection] = []
    extra: Counter[str] = Counter()
    records = _read(path, rejects, extra)
    inv = LabelInventory()
    for rec in records:
        inv.add_record(rec.raw)
    tasks = option_tasks(inv, opts) if opts.any_label else auto_tasks(inv, opts)

    if prefix == "auto":
        rules = [PREFIX_RULES[t.label] for t in tasks if t.label in PREFIX_RULES]
        if not rules and any(inv.has("session", name) for name in PREFIX_RULES):
            rules = [PREFIX_RULES[n] for n in PREFIX_RULES if inv.has("session", n)]
        cut: int | None = min(rules) if rules else None
        why = (
            f"first {cut} messages: the input carries AnnoMI's mi_quality, whose low-quality "
            "sessions are much shorter"
            if cut
            else "whole conversations"
        )
    else:
        cut = prefix or None
        why = f"first {cut} messages (--prefix)" if cut else "whole conversations"
    not_evaluated = unrecognised(inv, tasks)
    if cut and any(t.level == "phase" for t in tasks):
        not_evaluated += [
            {
                "level": "phase",
                "label": label,
                "reason": "phase labels rate whole sessions: not judged on prefixes (--prefix 0)",
            }
            for label in dict.fromkeys(t.label for t in tasks if t.level == "phase")
        ]
        tasks = [t for t in tasks if t.level != "phase"]
    if not tasks:
        raise EvaluationError(
            "no label to evaluate in the input"
            + (
                f" (labels found: {', '.join(sorted({n for _, n in inv.seen}))}; name them with "
                "--message-label, --session-label or --phase-label)"
                if inv.seen
                else ": add labels to the records (see docs/evaluate.md)"
            )
        )

    for rec in records:
        rec.transcript = parse_transcript(rec.line, _bare(rec.raw, cut), rejects)
    live = [r for r in records if r.transcript is not None]
    transcripts = [r.transcript for r in live if r.transcript is not None]

    t0 = time.perf_counter()
    if scorer is not None:
        closing, pending_close[0] = pending_close[0], False  # from here on, scoring closes it
        outputs = _score_in_process(transcripts, scorer, concurrency, progress, closing, jobs)
        name = scorer_name or str(getattr(scorer, "name", "") or type(scorer).__name__)
    elif command is not None:
        outputs = _score_command(live, cut, command)
        name = scorer_name or "command"
    else:
        assert scores is not None
        outputs = _read_outputs(scores)
        name = scorer_name or f"scores from {os.path.basename(scores)}"
    scoring_seconds = time.perf_counter() - t0
    missing = sum(1 for tr in transcripts if tr.conversation_id not in outputs)
    if missing == len(transcripts) and transcripts:
        raise EvaluationError("the scorer's output holds none of the input's conversation ids")
    if missing:
        extra["missing_from_scorer_output"] += missing
    if save_scores:
        with open(save_scores, "w", encoding="utf-8") as f:
            for tr in transcripts:
                if tr.conversation_id in outputs:
                    f.write(json.dumps(outputs[tr.conversation_id]) + "\n")

    baselines = {
        tr.conversation_id: baseline_record(tr.conversation_id, tr.messages) for tr in transcripts
    }
    report = EvaluationReport(
        input=path,
        scorer=name,
        n_conversations=len(transcripts),
        n_messages=sum(len(tr.messages) for tr in transcripts),
        prefix=cut,
        prefix_reason=why,
        n_bootstrap=n_bootstrap,
        seed=seed,
        confidence=confidence,
        scoring_seconds=scoring_seconds,
        not_evaluated=not_evaluated,
        n_no_scores=sum(1 for o in outputs.values() if o.get("phase_convention") == "no_scores"),
    )
    for task in tasks:
        it = _items(task, live, outputs, baselines, skip_abstained)
        if not it.y:
            what = "counselor message" if task.level == "message" else "item"
            report.not_evaluated.append(
                {
                    "level": task.level,
                    "label": task.label,
                    "reason": f"no labelled {what} with a score",
                }
            )
            continue
        boot = Bootstrap(it.cluster, n_bootstrap, seed=seed, level=confidence)
        report.results.append(_figures(task, it, boot, skip_abstained))
    stats = getattr(scorer, "stats", None)
    if stats is not None and dataclasses.is_dataclass(stats) and not isinstance(stats, type):
        report.scorer_stats = dataclasses.asdict(stats)
    by_reason = Counter(r.reason.value for r in rejects)
    by_reason.update(extra)
    report.rejected = dict(by_reason)
    report.total_seconds = time.perf_counter() - started
    return report
