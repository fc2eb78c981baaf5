"""`SteadyClock`: wall-clock seconds that a host clock step cannot move.

A live monitor compares "now" with each pair's last activity to end idle sessions. Read from the
host's wall clock, a step forward (NTP correcting a drifted host, an operator setting the date)
ends every open session at once, and a step back leaves idle ones open for as long as the step.
`SteadyClock` reads the wall clock once, when it is made, and advances from there with the
monotonic clock, which never steps. Its readings are still wall-clock seconds (the host's time
at start plus the time elapsed since), so they can be saved in snapshots and compared after a
restart or by another worker, as the monitor does.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["SteadyClock"]


class SteadyClock:
    """Seconds since the epoch: `wall()` at construction plus `monotonic()` elapsed since."""

    __slots__ = ("_mono", "_mono0", "_wall0")

    def __init__(
        self,
        *,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._mono = monotonic
        self._mono0 = monotonic()
        self._wall0 = wall()

    def __call__(self) -> float:
        return self._wall0 + (self._mono() - self._mono0)
