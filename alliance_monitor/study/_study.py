"""The study: the paper's analysis (Li et al., EMNLP Findings 2024) on any corpus.

`run_study(input, out_dir, scorer)` scores every transcript in phase thirds (exactly as
`alliance-monitor analyze` does), replays it through the monitor's core to get the window-level
events a supervisor would have seen, and writes:

- `summary.json`: every number below, plus one compact row per pair;
- `summary.md`: the tables, shaped like the paper's;
- `report.html`: one self-contained page with the charts and a pair view per pair.

The numbers:

1. Phase means (early / middle / late) per dimension with Student-t confidence intervals, the
   late-minus-early difference with its CI, the Friedman test across the three phases (primary;
   see `_stats` for why) and repeated-measures ANOVA with Greenhouse-Geisser (secondary).
   Only pairs with three scored phases take part: a transcript under three exchanges has one
   score copied into every phase, and a phase the scorer could not score would be imputed, so
   both are excluded (and counted) rather than entering as invented "no change".
2. The trajectory distribution, overall and per dimension: declined (late − early <=
   −tolerance), unchanged (|change| < tolerance), improved by less than one level, improved by
   one level or more.
3. Passive and directive prevalence by the session's alliance level (overall score rounded to
   the nearest level, 1-5) and by counselor where `counselor_id` is present: the share of
   counselor messages flagged (score >= 0.5) and the share of sessions with a pattern (a phase in
   which the flagged rate meets `PatternPolicy`, as the live monitor applies it to a window).
4. The pattern-alliance link: for passive and directive, the odds ratio of a low-alliance
   window given the pattern (pairs resampled for its interval) and a Cochran-Mantel-Haenszel
   test stratified by pair (`_link`); abstained windows are counted and left out.

The same phase table per item (G1-G4, T1-T4, B1-B4, Holm-adjusted) and the score distributions
per dimension and phase come from `_items`.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from itertools import chain
from pathlib import Path
from typing import Any

import anyio

from .._batch import PHASES, TranscriptResult, analyze_transcript, analyze_transcript_async
from .._core import MonitorCore, Outcome
from .._errors import ConfigError, InvalidMessage, RejectReason
from .._events import Event
from .._io import Rejection, Transcript, iter_lines, parse_transcript
from .._models import Message, WindowScore
from ..scoring import (
    Scorer,
    SyncScorer,
    basic_redactor,
    score_or_unscored,
    score_sync_or_unscored,
)
from ._board import PairBoard
from ._items import ITEMS, bounded, distributions, item_table
from ._link import LinkCollector
from ._ratings import read_feedback_file
from ._records import (
    _TABLE_DIMS,
    _TRAJ_DIMS,
    LEVEL_LABELS,
    TRAJECTORY_CATEGORIES,
    PairRecord,
    PatternRow,
    PhaseStats,
    StudySummary,
    TrajectoryRow,
    trajectory_category,
)
from ._sessions import across_sessions, split_sessions
from ._stats import friedman, mean_ci, rm_anova
from ._strings import LANGUAGES, corpus_language

__all__ = [
    "LEVEL_LABELS",
    "TRAJECTORY_CATEGORIES",
    "PairRecord",
    "PatternRow",
    "PhaseStats",
    "StudySummary",
    "TrajectoryRow",
    "run_study",
    "run_study_async",
    "summarize",
    "trajectory_category",
]


# ---------------------------------------------------------------------- the analysis
def summarize(
    records: Sequence[PairRecord], *, tolerance: float = 0.25, confidence_level: float = 0.95
) -> StudySummary:
    """The study's numbers from per-pair records (pure: no I/O, no scoring)."""
    eligible = [r for r in records if r.in_phase_analysis]
    phases = []
    for dim in _TABLE_DIMS:
        rows = [[r.phases[p][dim] for p in PHASES] for r in eligible]
        phases.append(
            PhaseStats(
                dimension=dim,
                # a mean of 1-5 ratings lies in 1-5, and so does its interval (a change, in -4..4)
                early=bounded(mean_ci([x[0] for x in rows], confidence_level)),
                middle=bounded(mean_ci([x[1] for x in rows], confidence_level)),
                late=bounded(mean_ci([x[2] for x in rows], confidence_level)),
                change=bounded(mean_ci([x[2] - x[0] for x in rows], confidence_level), -4.0, 4.0),
                friedman=friedman(rows),
                anova=rm_anova(rows),
            )
        )
    item_recs = [r for r in eligible if _has_all_items(r)]
    items = item_table(
        {item: [_item_row(r, item) for r in item_recs] for item, _ in ITEMS},
        confidence_level,
    )
    trajectories = []
    in_traj = [r for r in records if r.in_trajectory]
    for dim in _TRAJ_DIMS:
        counts = dict.fromkeys(TRAJECTORY_CATEGORIES, 0)
        for r in in_traj:
            counts[r.category(dim, tolerance)] += 1
        trajectories.append(TrajectoryRow(dim, len(in_traj), counts))
    scored = [r for r in records if r.convention != "no_scores"]
    by_level = [
        _pattern_row(
            str(lvl),
            f"{lvl} ({LEVEL_LABELS[lvl]})",
            [r for r in scored if r.level == lvl and not r.insufficient],
            tolerance,
        )
        for lvl in range(1, 6)
    ]
    by_level.append(
        _pattern_row(
            "insufficient_evidence",
            "Insufficient evidence",
            [r for r in scored if r.insufficient],
            tolerance,
        )
    )
    by_tercile = []
    ranked = [r for r in scored if not r.insufficient]  # no evidence, no rank
    if len(ranked) >= 3:
        ordered = sorted(ranked, key=lambda r: (r.alliance["overall"], r.conversation_id))
        k = len(ordered)
        for i, name in enumerate(("lowest", "middle", "highest")):
            part = ordered[i * k // 3 : (i + 1) * k // 3]
            lo, hi = part[0].alliance["overall"], part[-1].alliance["overall"]
            by_tercile.append(
                _pattern_row(
                    name, f"{name.capitalize()} third ({lo:.2f}-{hi:.2f})", part, tolerance
                )
            )
        if len(ranked) < len(scored):
            by_tercile.append(
                _pattern_row(
                    "insufficient_evidence",
                    "Insufficient evidence",
                    [r for r in scored if r.insufficient],
                    tolerance,
                )
            )
    counselors = sorted({r.counselor_id for r in scored if r.counselor_id is not None})
    by_counselor = sorted(
        (
            _pattern_row(c, c, [r for r in scored if r.counselor_id == c], tolerance)
            for c in counselors
        ),
        key=lambda row: (-row.n_sessions, row.group),
    )
    excluded = Counter(
        r.convention
        if r.convention != "windows"
        else "phase_unscored"
        if r.unscored_phases
        else "insufficient_evidence"
        for r in records
        if not r.in_phase_analysis
    )
    return StudySummary(
        phases=tuple(phases),
        trajectories=tuple(trajectories),
        patterns_by_level=tuple(by_level),
        patterns_by_counselor=tuple(by_counselor),
        pairs=tuple(records),
        patterns_by_tercile=tuple(by_tercile),
        items=items,
        n_item_analysis=len(item_recs),
        distributions=distributions([r.phases for r in eligible], _TABLE_DIMS),
        n_pairs=len({r.conversation_id for r in records}),
        sessions=across_sessions(records, tolerance, confidence_level),
        tolerance=tolerance,
        confidence_level=confidence_level,
        n_transcripts=len(records),
        excluded=dict(excluded),
    )


def _has_all_items(r: PairRecord) -> bool:
    return r.items is not None and all(
        item in r.items.get(p, {}) for p in PHASES for item, _ in ITEMS
    )


def _item_row(r: PairRecord, item: str) -> tuple[float, float, float]:
    assert r.items is not None
    early, middle, late = (r.items[p][item] for p in PHASES)
    return early, middle, late


def _pattern_row(
    group: str, label: str, recs: Sequence[PairRecord], tolerance: float
) -> PatternRow:
    traj = [r for r in recs if r.in_trajectory]
    return PatternRow(
        group=group,
        label=label,
        n_sessions=len(recs),
        n_counselor=sum(r.n_counselor for r in recs),
        n_passive=sum(r.n_passive for r in recs),
        n_directive=sum(r.n_directive for r in recs),
        sessions_passive=sum(r.passive_pattern for r in recs),
        sessions_directive=sum(r.directive_pattern for r in recs),
        mean_alliance=math.fsum(r.alliance["overall"] for r in recs) / len(recs) if recs else None,
        declined=sum(r.category("overall", tolerance) == "declined" for r in traj),
        n_trajectory=len(traj),
    )


# ---------------------------------------------------------------------- running it
def run_study(
    input_path: str | Path,
    out_dir: str | Path,
    scorer: Scorer,
    *,
    trajectory_tolerance: float = 0.25,
    confidence_level: float = 0.95,
    include_text: bool = False,
    replay: bool = True,
    concurrency: int = 4,
    max_report_pairs: int = 500,
    bootstrap: int = 1000,
    seed: int = 0,
    ratings: str | Path | None = None,
    on_progress: Callable[[int], None] | None = None,
    language: str = "auto",
    jobs: int = 1,
) -> StudySummary:
    """Score every transcript of `input_path`, and write summary.json, summary.md and
    report.html to `out_dir` (created if missing). See the module docstring.

    `replay=False` skips the window-level replay (the pair views then show only the three
    phases); worth it with a slow LLM scorer, since replay scores every rolling window again.
    `include_text=True` lets feedback quotes (short excerpts) into the report, and up to three
    redacted exemplar exchanges per pattern into the report and summary.json.
    `bootstrap` resamples of pairs (with `seed`) give the pattern-alliance odds ratios their
    intervals (0: none).
    `ratings`: a `RatingStore` database or a JSONL file of ratings and deliveries (the HTTP
    endpoint's records): which feedback reached counselors and how they rated it (Table 6).
    `on_progress(n)` is called with the number of transcripts scored so far, after each batch.
    `language`: the language of the report's fixed text, ``"en"`` or ``"zh"``; ``"auto"`` (the
    default) writes Chinese when most transcripts are Chinese or mixed Chinese-English.
    `jobs`: worker processes for a synchronous scorer (the embedded one): pairs are scored
    and replayed in parallel and their results taken in input order, so every figure is the
    same with any number.
    The scorer is not closed: the caller owns it.
    """
    return anyio.run(
        partial(
            run_study_async,
            input_path,
            out_dir,
            scorer,
            trajectory_tolerance=trajectory_tolerance,
            confidence_level=confidence_level,
            include_text=include_text,
            replay=replay,
            concurrency=concurrency,
            max_report_pairs=max_report_pairs,
            bootstrap=bootstrap,
            seed=seed,
            ratings=ratings,
            on_progress=on_progress,
            language=language,
            jobs=jobs,
        )
    )


@dataclass(slots=True)
class _Run:
    scorer: Scorer
    tolerance: float
    include_text: bool
    replay: bool
    board: PairBoard
    link: LinkCollector
    #: Per pair, its sessions' records and results in time order.
    records: dict[str, list[PairRecord]] = field(default_factory=dict)
    results: dict[str, list[TranscriptResult]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # input order of the conversations
    rejects: list[Rejection] = field(default_factory=list)
    duplicates: int = 0
    duplicate_ids: int = 0


async def run_study_async(
    input_path: str | Path,
    out_dir: str | Path,
    scorer: Scorer,
    *,
    trajectory_tolerance: float = 0.25,
    confidence_level: float = 0.95,
    include_text: bool = False,
    replay: bool = True,
    concurrency: int = 4,
    max_report_pairs: int = 500,
    bootstrap: int = 1000,
    seed: int = 0,
    ratings: str | Path | None = None,
    on_progress: Callable[[int], None] | None = None,
    language: str = "auto",
    jobs: int = 1,
) -> StudySummary:
    """`run_study` for callers already inside an event loop."""
    from ._report import static_view

    if bootstrap < 0:
        raise ConfigError("study: the bootstrap count must be >= 0")
    if language != "auto" and language not in LANGUAGES:
        raise ConfigError(
            f"study: unknown report language {language!r} (auto, {', '.join(LANGUAGES)})"
        )
    started = time.perf_counter()
    run = _Run(
        scorer,
        trajectory_tolerance,
        include_text,
        replay,
        PairBoard(
            max_pairs=1 << 30,
            max_windows=10_000,
            max_markers=10_000,
            trajectory_tolerance=trajectory_tolerance,
        ),
        LinkCollector(redact=basic_redactor if include_text else None),
    )
    limiter = anyio.CapacityLimiter(max(1, concurrency))
    # A pair's sessions may sit in several records: all are read before any is scored.
    pairs = _pairs(str(input_path), run)
    if isinstance(scorer, SyncScorer):
        _score_sync(pairs, run, scorer, jobs, on_progress)
    else:
        done = 0
        step = 4 * max(1, concurrency)
        for i in range(0, len(pairs), step):
            batch = pairs[i : i + step]
            await _score_batch(batch, run, limiter)
            done += len(batch)
            if on_progress is not None:
                on_progress(done)

    feedback = _feedback_loop(run, ratings, replay, confidence_level, bootstrap, seed)
    records = [r for c in run.order for r in run.records.get(c, [])]
    summary = summarize(records, tolerance=trajectory_tolerance, confidence_level=confidence_level)
    excluded = dict(summary.excluded)
    if run.duplicate_ids:
        excluded["duplicate_conversation_id"] = run.duplicate_ids
    summary = replace(
        summary,
        excluded=excluded,
        rejected=dict(Counter(r.reason.value for r in run.rejects)),
        duplicate_messages=run.duplicates,
        input_name="standard input" if str(input_path) == "-" else Path(str(input_path)).name,
        scorer=getattr(scorer, "name", type(scorer).__name__),
        link=tuple(run.link.results(n_boot=bootstrap, seed=seed, level=confidence_level)),
        link_unit="window" if replay else "phase",
        link_abstained=run.link.abstained,
        link_abstained_with=dict(run.link.abstained_with),
        exemplars=run.link.exemplars() if include_text else {},
        bootstrap=bootstrap,
        feedback=feedback,
        language=(
            corpus_language(r.language for rs in run.results.values() for r in rs)
            if language == "auto"
            else language
        ),
    )
    views = []
    order = [s.conversation_id for s in run.board.ranked()] if replay else []
    in_board = set(order)
    order += [c for c in run.order if c not in in_board]  # pairs that produced no event
    for cid in order[:max_report_pairs]:
        recs, res = run.records.get(cid), run.results.get(cid)
        if not recs or not res:
            continue
        view = run.board.view(cid, include_text=include_text) if replay else None
        views.append(static_view(recs, res, view, trajectory_tolerance))
    out = Path(out_dir)
    files = {key: str(out / name) for key, name in _FILES.items()}
    summary = replace(summary, elapsed_s=round(time.perf_counter() - started, 3), files=files)
    await anyio.to_thread.run_sync(partial(_write_outputs, out, summary, views, len(order)))
    return summary


_FILES = {
    "summary_json": "summary.json",
    "summary_md": "summary.md",
    "report_html": "report.html",
}


def _write_outputs(
    out: Path, summary: StudySummary, views: list[dict[str, Any]], total_pairs: int
) -> None:
    from ._report import render_report

    out.mkdir(parents=True, exist_ok=True)
    (out / _FILES["summary_json"]).write_text(
        json.dumps(summary.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (out / _FILES["summary_md"]).write_text(summary.to_markdown(), encoding="utf-8")
    (out / _FILES["report_html"]).write_text(
        render_report(summary, views, total_pairs=total_pairs), encoding="utf-8"
    )


def _feedback_loop(
    run: _Run,
    ratings: str | Path | None,
    replay: bool,
    level: float,
    n_boot: int,
    seed: int,
) -> dict[str, Any] | None:
    """Table 6: the ratings file's ratings and deliveries for this corpus's pairs, told to the
    replay's board, and the board's feedback loop (None without replay: no events)."""
    if not replay:
        return None
    source: dict[str, Any] = {"file": None}
    if ratings is not None:
        rs, ds, refused = read_feedback_file(str(ratings))
        pairs = set(run.records)
        mine_r = [r for r in rs if r.conversation_id in pairs]
        mine_d = [d for d in ds if d.conversation_id in pairs]
        for d in mine_d:
            run.board.feedback_delivered(d)
        for r in mine_r:
            run.board.feedback_rated(r)
        source = {
            "file": Path(str(ratings)).name,
            "ratings": len(mine_r),
            "deliveries": len(mine_d),
            "other_pairs": len(rs) + len(ds) - len(mine_r) - len(mine_d),
            "refused": dict(refused),
        }
    loop = run.board.feedback_loop(level=level, n_boot=n_boot, seed=seed)
    return {**loop, "source": source}


def _with_session(obj: Any) -> Any:
    """A record's top-level ``session_id`` applied to its messages that carry none."""
    sid = obj.get("session_id") if isinstance(obj, dict) else None
    msgs = obj.get("messages") if isinstance(obj, dict) else None
    if not isinstance(sid, str) or not sid or not isinstance(msgs, list):
        return obj
    return {
        **obj,
        "messages": [
            {**m, "session_id": sid} if isinstance(m, dict) and "session_id" not in m else m
            for m in msgs
        ],
    }


def _session_ids(tr: Transcript) -> set[str | None]:
    return {m.session_id for m in tr.messages}


def _pairs(path: str, run: _Run) -> list[Transcript]:
    """Every pair of the input, its records merged when they are different sessions of it.

    A record repeating a conversation id is more sessions of that pair when both carry session
    ids and share none; otherwise it is a duplicate (counted, skipped)."""
    pairs: dict[str, Transcript] = {}
    for n, obj in iter_lines(path):
        if isinstance(obj, InvalidMessage):
            run.rejects.append(Rejection(n, RejectReason.INVALID_JSON))
            continue
        tr = parse_transcript(n, _with_session(obj), run.rejects)
        if tr is None:
            continue
        run.duplicates += tr.duplicates
        known = pairs.get(tr.conversation_id)
        if known is None:
            pairs[tr.conversation_id] = tr
            run.order.append(tr.conversation_id)
            continue
        mine, theirs = _session_ids(known), _session_ids(tr)
        if None in mine or None in theirs or mine & theirs:
            run.duplicate_ids += 1
            continue
        seen = {m.id for m in known.messages}
        for m in tr.messages:
            if m.id in seen:
                run.duplicates += 1
            else:
                seen.add(m.id)
                known.messages.append(m)
    return [pairs[c] for c in run.order]


def _counselor_of(messages: Sequence[Message]) -> str | None:
    return next((m.counselor_id for m in messages if m.counselor_id), None)


#: Pairs handed to a worker process at once (`_score_sync`).
_PAIRS_PER_TASK = 8


@dataclass(frozen=True, slots=True)
class _PairWork:
    """A pair scored with a synchronous scorer, apart from the run (in this process or in a
    worker): its sessions' results in order, and what its replay produced in the order the
    run takes it in (a window score for the link, as (conversation id, score), or an event
    for the board)."""

    results: list[TranscriptResult]
    replayed: list[tuple[str, WindowScore] | Event]


def _score_sync(
    pairs: list[Transcript],
    run: _Run,
    scorer: SyncScorer,
    jobs: int,
    on_progress: Callable[[int], None] | None,
) -> None:
    """Every pair scored (in `jobs` processes) and taken into the run in input order: the same
    run as scoring them one by one."""
    from .._parallel import ordered_map

    parts = [pairs[i : i + _PAIRS_PER_TASK] for i in range(0, len(pairs), _PAIRS_PER_TASK)]
    task = (scorer, run.tolerance, run.replay, run.include_text)
    worked: Iterator[list[_PairWork]]
    if jobs <= 1 or len(parts) <= 2:
        worked = (_work_pairs(task, part) for part in parts)
    else:
        # the first part here: it loads what forked workers then share
        worked = chain(
            [_work_pairs(task, parts[0])],
            ordered_map(_work_pairs, parts[1:], jobs=jobs, state=task),
        )
    done = 0
    for part, works in zip(parts, worked, strict=True):
        for tr, work in zip(part, works, strict=True):
            _take(tr, work, run)
        done += len(part)
        if on_progress is not None:
            on_progress(done)


def _work_pairs(
    task: tuple[SyncScorer, float, bool, bool], pairs: list[Transcript]
) -> list[_PairWork]:
    scorer, tolerance, replay, include_text = task
    return [_work_pair(tr, scorer, tolerance, replay, include_text) for tr in pairs]


def _work_pair(
    tr: Transcript, scorer: SyncScorer, tolerance: float, replay: bool, include_text: bool
) -> _PairWork:
    """`_one`'s scoring and replay of a pair for a synchronous scorer, without the run."""
    cid = tr.conversation_id
    sessions = split_sessions(tr.messages)
    results = [
        analyze_transcript(cid, msgs, scorer, trajectory_tolerance=tolerance)
        for _, msgs in sessions
    ]
    replayed: list[tuple[str, WindowScore] | Event] = []
    if replay:
        core = MonitorCore(include_text=include_text)
        for m in (m for _, msgs in sessions for m in msgs):
            _drain_sync(core, core.ingest(m), scorer, replayed)
        _drain_sync(core, core.end_session(cid, "explicit"), scorer, replayed)
    return _PairWork(results, replayed)


def _drain_sync(
    core: MonitorCore, out: Outcome, scorer: SyncScorer, into: list[tuple[str, WindowScore] | Event]
) -> None:
    """`_drain` for a synchronous scorer, recording what it would hand the run."""
    events: list[Event] = core.session_pages(list(out.events))
    for req in out.work:
        score = score_sync_or_unscored(scorer, req)
        into.append((req.conversation_id, score))
        events.extend(core.session_pages(core.apply(score, req)))
    into.extend(events)


def _keep(
    cid: str,
    sessions: list[tuple[str | None, list[Message]]],
    results: list[TranscriptResult],
    run: _Run,
) -> None:
    """A pair's session results into the run: its records, and (without a replay) the link's
    windows."""
    records = []
    for index, ((sid, msgs), res) in enumerate(zip(sessions, results, strict=True)):
        records.append(
            PairRecord.from_result(res, _counselor_of(msgs), session_id=sid, session_index=index)
        )
        if not run.replay:
            texts = msgs if run.include_text else None
            for w in res.windows:
                run.link.add(cid, w, texts)
    run.results[cid] = results
    run.records[cid] = records


def _take(tr: Transcript, work: _PairWork, run: _Run) -> None:
    """A pair's `_PairWork` into the run, as `_one` would have put it."""
    sessions = split_sessions(tr.messages)
    _keep(tr.conversation_id, sessions, work.results, run)
    if run.replay:
        ordered = [m for _, msgs in sessions for m in msgs]
        texts = ordered if run.include_text else None
        for item in work.replayed:
            if isinstance(item, tuple):
                run.link.add(item[0], item[1], texts)
            else:
                run.board(item)


async def _score_batch(batch: list[Transcript], run: _Run, limiter: anyio.CapacityLimiter) -> None:
    async with anyio.create_task_group() as tg:
        for tr in batch:

            async def one(t: Transcript = tr) -> None:
                async with limiter:
                    await _one(t, run)

            tg.start_soon(one)


async def _one(tr: Transcript, run: _Run) -> None:
    """One pair: each of its sessions scored in thirds, then the whole pair replayed (a
    scorer that awaits; a synchronous one goes through `_score_sync`)."""
    cid = tr.conversation_id
    sessions = split_sessions(tr.messages)
    results = [
        await analyze_transcript_async(cid, msgs, run.scorer, trajectory_tolerance=run.tolerance)
        for _, msgs in sessions
    ]
    _keep(cid, sessions, results, run)
    if run.replay:
        ordered = [m for _, msgs in sessions for m in msgs]
        await _replay(cid, ordered, run, ordered if run.include_text else None)


async def _replay(
    cid: str, messages: list[Message], run: _Run, texts: list[Message] | None
) -> None:
    """The pair through the monitor's I/O-free core: the events a supervisor would see (a new
    session id ends the session before it, as live)."""
    core = MonitorCore(include_text=run.include_text)
    for m in messages:
        await _drain(core, core.ingest(m), run, texts)
    await _drain(core, core.end_session(cid, "explicit"), run, texts)


async def _drain(core: MonitorCore, out: Outcome, run: _Run, texts: list[Message] | None) -> None:
    """The outcome's events and those of its windows' scores, with the session-end pages the
    monitor adds (`MonitorCore.session_pages`), into the run's board."""
    events: list[Event] = core.session_pages(list(out.events))
    for req in out.work:
        score = await score_or_unscored(run.scorer, req)
        run.link.add(req.conversation_id, score, texts)
        events.extend(core.session_pages(core.apply(score, req)))
    for ev in events:
        run.board(ev)
