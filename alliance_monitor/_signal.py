"""`Signal`: wake every task waiting right now (a level-free broadcast for the monitor's parts)."""

from __future__ import annotations

import anyio

__all__ = ["Signal"]


class Signal:
    """Wakes every current waiter; later waiters wait for the next notify.

    The event is created by the first waiter, not by `notify`: most notifies find nobody
    waiting, and creating an `anyio.Event` per notify was a measurable cost of the ingest path.
    """

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event: anyio.Event | None = None

    def notify(self) -> None:
        ev = self._event
        if ev is not None:
            self._event = None
            ev.set()

    async def wait(self) -> None:
        ev = self._event
        if ev is None:
            ev = self._event = anyio.Event()
        await ev.wait()
