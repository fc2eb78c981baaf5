"""Pending scoring work: one slot per pair, taken one pair at a time, merged under overload.

Closed windows wait in their pair's slot until a scoring worker takes them; a pair with a window
being scored is not handed to a second worker, so each pair's windows are applied in order. When
the scorer is slower than the conversation, a new window is merged into the pair's waiting one
(`overload="merge"`, counted as `windows_merged`) instead of queueing without bound; with
`overload="wait"`, `ingest` waits for the pair's previous window to be taken instead.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterator
from typing import Literal

from ._config import ScoringPolicy, WindowPolicy
from ._models import WindowRequest
from ._signal import Signal

__all__ = ["MERGE_CAP_WINDOWS", "Scheduler", "merge_requests"]


def merge_requests(
    a: WindowRequest, b: WindowRequest, cap: int, counts: Counter[str]
) -> WindowRequest:
    """One request covering `a` then `b` (consecutive windows of one session), keeping at most
    `cap` messages (the oldest are dropped from scoring, counted)."""
    counts["windows_merged"] += 1
    msgs = a.messages + b.messages
    if len(msgs) > cap:
        counts["messages_dropped_overload"] += len(msgs) - cap
        msgs = msgs[-cap:]
    return WindowRequest(
        conversation_id=b.conversation_id,
        window_index=b.window_index,
        messages=msgs,
        n_exchanges=a.n_exchanges + b.n_exchanges,
        history=b.history,
        kind=b.kind if b.kind == "final" else a.kind,
        merged_from=(*a.merged_from, a.window_index, *b.merged_from),
        counselor_id=b.counselor_id,
        session_id=b.session_id,
        session_index=b.session_index,
        span_start=a.span_start,
        span_width=a.span_width + b.span_width,
    )


#: Hard cap on the messages of one merged window, in windows' worth of `WindowPolicy.max_messages`
#: (older ones are dropped from scoring, counted as ``messages_dropped_overload``).
MERGE_CAP_WINDOWS = 4


class Scheduler:
    """Per-pair pending slots and the queue of pairs ready to score.

    Counts (`counts`): ``windows_merged``, ``messages_dropped_overload``. `on_progress` is
    called whenever work is taken or finished (the monitor's `flush` listens to it)."""

    def __init__(
        self,
        *,
        overload: Literal["merge", "wait"],
        merge_cap: int,
        on_progress: Callable[[], None] | None = None,
    ) -> None:
        self._overload = overload
        self._cap = merge_cap
        self.counts: Counter[str] = Counter()
        self._on_progress = on_progress
        self._pending: dict[str, list[WindowRequest]] = {}
        self._ready: deque[str] = deque()
        self._inflight: set[str] = set()
        self._wake = Signal()  # work arrived
        self._progress = Signal()  # work was taken or finished

    @classmethod
    def for_policy(
        cls, policy: ScoringPolicy, window: WindowPolicy, *, on_progress: Callable[[], None]
    ) -> Scheduler:
        """The scheduler of a monitor with these policies."""
        cap = window.max_messages * MERGE_CAP_WINDOWS
        return cls(overload=policy.overload, merge_cap=cap, on_progress=on_progress)

    # ---------------------------------------------------------------- producers
    def enqueue(self, req: WindowRequest) -> None:
        conv = req.conversation_id
        pend = self._pending.get(conv)
        if pend is None:
            pend = self._pending[conv] = []
            if conv not in self._inflight:
                self._ready.append(conv)
        last = pend[-1] if pend else None
        if (
            self._overload == "merge"
            and last is not None
            and last.session_index == req.session_index
        ):
            pend[-1] = merge_requests(last, req, self._cap, self.counts)
        else:
            pend.append(req)
        self._wake.notify()

    async def wait_pair(self, conversation_id: str) -> None:
        """Wait until the pair has nothing waiting to be taken (`overload="wait"`)."""
        while conversation_id in self._pending:
            await self._progress.wait()

    # ---------------------------------------------------------------- workers
    async def take(self) -> WindowRequest:
        """The next request of a pair no other worker is scoring; call `done` after it."""
        while True:
            while not self._ready:
                await self._wake.wait()
            conv = self._ready.popleft()
            pend = self._pending.get(conv)
            if not pend:
                self._pending.pop(conv, None)
                continue
            req = pend.pop(0)
            if not pend:
                del self._pending[conv]
            self._inflight.add(conv)
            self._progressed()  # waiters in overload="wait" may proceed
            return req

    def done(self, conversation_id: str) -> None:
        self._inflight.discard(conversation_id)
        if conversation_id in self._pending and conversation_id not in self._ready:
            self._ready.append(conversation_id)
            self._wake.notify()
        self._progressed()

    def _progressed(self) -> None:
        self._progress.notify()
        if self._on_progress is not None:
            self._on_progress()

    # ---------------------------------------------------------------- state
    def waiting(self, conversation_id: str) -> tuple[WindowRequest, ...]:
        """The pair's requests not yet taken (as merged so far)."""
        return tuple(self._pending.get(conversation_id, ()))

    def busy(self, conversation_id: str) -> bool:
        """The pair has a window waiting or being scored."""
        return conversation_id in self._pending or conversation_id in self._inflight

    def busy_pairs(self) -> Iterator[str]:
        yield from self._pending
        yield from self._inflight

    def forget(self, conversation_id: str) -> None:
        """Drop the pair's waiting requests (its state is reloaded from the store)."""
        self._pending.pop(conversation_id, None)  # `take` skips it in the ready queue

    @property
    def idle(self) -> bool:
        return not self._pending and not self._inflight

    @property
    def n_pending(self) -> int:
        return len(self._pending)

    @property
    def n_inflight(self) -> int:
        return len(self._inflight)
