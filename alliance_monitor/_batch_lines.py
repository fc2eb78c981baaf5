"""`analyze` over a file with a synchronous scorer: input lines in, output records out, on one
core or on several (`--jobs`), with the same output either way.

The unit of work is a chunk of input lines (`chunks`): each line is parsed, validated and
analysed exactly as one process would (`analyze_lines`), and the results are consumed in input
order (`_parallel.ordered_map`), so records, rejections and their order do not depend on the
number of jobs. A short input (one chunk) is analysed in this process: starting workers would
cost more than it saves.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from ._batch import analyze_transcript
from ._errors import InvalidMessage, RejectReason
from ._io import Rejection, Transcript, guarded_transcript, iter_raw_lines, parse_line
from ._parallel import ordered_map
from .scoring._base import SyncScorer

__all__ = ["LineResult", "analyze_file", "analyze_lines", "chunks", "records_of"]

#: A chunk holds at most this many lines, or this many characters of input. (Smaller chunks
#: leave a worker less to finish alone at the end; each costs well under a millisecond to hand
#: over.)
CHUNK_LINES = 16
CHUNK_CHARS = 256 * 1024
#: The first chunk, worked in this process before any worker starts (`analyze_file`): enough
#: to load what the scorer loads on first use, no more (it is work the workers wait for).
WARM_LINES = 2

Chunk = list[tuple[int, str]]


@dataclass(frozen=True, slots=True)
class LineResult:
    """What one input line gave: its output record (JSON text, None when the line was
    refused), the rejections it caused (of the line, or of some of its messages), and counts
    for the summary."""

    record: str | None
    rejects: tuple[Rejection, ...] = ()
    messages: int = 0
    duplicates: int = 0
    windows: int = 0
    #: Reasons of windows the scorer failed on (`status == "unscored"`), with their counts.
    unscored: Counter[str] = field(default_factory=Counter)


def analyze_lines(scorer: SyncScorer, chunk: Chunk, tolerance: float) -> list[LineResult]:
    """Each line of `chunk` analysed as `alliance-monitor analyze` does (one result a line)."""
    import json

    out: list[LineResult] = []
    for n, raw in chunk:
        obj = parse_line(raw)
        rejects: list[Rejection] = []
        if isinstance(obj, InvalidMessage):
            out.append(LineResult(None, (Rejection(n, obj.reason),)))
            continue
        tr = guarded_transcript(n, obj, rejects)
        if tr is None:
            out.append(LineResult(None, tuple(rejects)))
            continue
        try:
            res = analyze_transcript(
                tr.conversation_id, tr.messages, scorer, trajectory_tolerance=tolerance
            )
        except Exception:  # this line only; its text stays out
            rejects.append(Rejection(n, RejectReason.INTERNAL_ERROR, None, tr.conversation_id))
            out.append(LineResult(None, tuple(rejects)))
            continue
        out.append(
            LineResult(
                json.dumps(res.to_json()),
                tuple(rejects),
                messages=len(tr.messages),
                duplicates=tr.duplicates,
                windows=len(res.windows),
                unscored=Counter(
                    w.reason or "unknown" for w in res.windows if w.status == "unscored"
                ),
            )
        )
    return out


def chunks(lines: Iterable[tuple[int, str]], *, first: int = CHUNK_LINES) -> Iterator[Chunk]:
    """Numbered lines in chunks of at most `CHUNK_LINES` lines (the first: `first`) or
    `CHUNK_CHARS` characters."""
    chunk: Chunk = []
    size = 0
    limit = first
    for n, raw in lines:
        chunk.append((n, raw))
        size += len(raw)
        if len(chunk) >= limit or size >= CHUNK_CHARS:
            yield chunk
            chunk, size, limit = [], 0, CHUNK_LINES
    if chunk:
        yield chunk


_frozen = False


def _work(state: tuple[SyncScorer, float], chunk: Chunk) -> list[LineResult]:
    """A worker's chunk. After its first, the scorer has loaded what it loads on first use:
    the garbage collector need not walk those long-lived objects again."""
    global _frozen
    out = analyze_lines(state[0], chunk, state[1])
    if not _frozen:
        gc.freeze()
        _frozen = True
    return out


def analyze_file(
    path: str, scorer: SyncScorer, *, jobs: int, tolerance: float
) -> Iterator[LineResult]:
    """One `LineResult` per non-blank line of `path` ("-": standard input), in input order,
    computed in `jobs` processes (the first `WARM_LINES` lines, and for 1 job or two chunks all
    of them, in this one)."""
    parts = chunks(iter_raw_lines(path), first=WARM_LINES)
    first = next(parts, None)
    if first is None:
        return
    # The first chunk is worked here, in any case: it loads what the scorer loads on first use
    # (compiled cue expressions, model weights), which forked workers then share rather than
    # each loading it again. After it, see `_work`; the caller unfreezes (`gc.unfreeze`) when
    # the run is over.
    yield from analyze_lines(scorer, first, tolerance)
    gc.freeze()
    if jobs <= 1:
        for chunk in parts:
            yield from analyze_lines(scorer, chunk, tolerance)
        return
    second, third = next(parts, None), next(parts, None)
    if second is None:
        return
    if third is None:  # a short input: starting workers would cost more than it saves
        yield from analyze_lines(scorer, second, tolerance)
        return
    rest = chain([second, third], parts)
    for results in ordered_map(_work, rest, jobs=jobs, state=(scorer, tolerance)):
        yield from results


def _records(scorer: SyncScorer, chunk: Sequence[Transcript]) -> list[dict[str, Any]]:
    return [analyze_transcript(tr.conversation_id, tr.messages, scorer).to_json() for tr in chunk]


def records_of(
    scorer: SyncScorer, transcripts: Sequence[Transcript], *, jobs: int
) -> Iterator[dict[str, Any]]:
    """The `analyze` record (`TranscriptResult.to_json`) of each transcript, in order, computed
    in `jobs` processes (this one for 1, or for a few transcripts)."""
    step = CHUNK_LINES // 2
    parts = [transcripts[i : i + step] for i in range(0, len(transcripts), step)]
    if jobs <= 1 or len(parts) <= 2:
        for part in parts:
            yield from _records(scorer, part)
        return
    yield from _records(scorer, parts[0])  # loads what forked workers then share
    for records in ordered_map(_records, parts[1:], jobs=jobs, state=scorer):
        yield from records
