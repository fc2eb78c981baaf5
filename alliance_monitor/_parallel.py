"""Batch work on every core: the same work function over chunks of input in worker processes,
results handed back in input order (`ordered_map`).

Used by the batch commands with a synchronous scorer (`analyze`, `study`, `evaluate`
``--jobs N``): scoring is pure CPU, so one process per core. The output is the same as with
one job, because each chunk is worked exactly as one process would work it and the results are
consumed in the order the chunks were read.

Workers start by ``fork`` where that is safe (Linux, no other thread running: they inherit the
loaded scorer, its compiled cue expressions and model weights, and start in milliseconds), else
by ``forkserver`` (Linux) or the platform's default method (they import and load on their own,
and the state given to them is pickled). At most ``2 * jobs``
chunks are in flight, so memory stays bounded whatever the input's size.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import multiprocessing.context
    from concurrent.futures import Future

__all__ = ["available_cores", "ordered_map"]

T = TypeVar("T")
R = TypeVar("R")

#: What a worker holds (`ordered_map`'s `state`), set once per worker process.
_STATE: Any = None


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform says)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def _context() -> multiprocessing.context.BaseContext:
    """``fork`` on Linux with no other thread running; else a start method that does not copy
    a process whose other threads may hold locks (``forkserver``, or the platform's default)."""
    import multiprocessing  # here, not at import: a one-job run never starts a worker

    if sys.platform == "linux":
        if threading.active_count() == 1:
            return multiprocessing.get_context("fork")
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context()


def _init(state: Any) -> None:
    global _STATE
    _STATE = state


def _call(work: Callable[[Any, T], R], chunk: T) -> R:
    return work(_STATE, chunk)


def ordered_map(
    work: Callable[[Any, T], R],
    chunks: Iterable[T],
    *,
    jobs: int,
    state: Any = None,
) -> Iterator[R]:
    """``work(state, chunk)`` for every chunk, in `jobs` worker processes; results in the
    order of `chunks`. `work` must be a module-level function, and chunks and results
    picklable; `state` (for example the scorer) is given to each worker once. An exception
    raised by `work` is raised here, at that chunk's place in the order."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(
        max_workers=jobs, mp_context=_context(), initializer=_init, initargs=(state,)
    ) as pool:
        pending: deque[Future[R]] = deque()
        for chunk in chunks:
            pending.append(pool.submit(_call, work, chunk))
            while len(pending) >= 2 * jobs:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
