"""Background tasks that die without taking the embedding code with them.

A monitor runs several tasks for as long as it is entered (committer, evictor, scoring workers,
fan-out, phase raters, idle sweeper). If one dies, `TaskSupervisor.run` records it (`failures`,
what `Monitor.health()` reports), logs it once and tells the monitor (`on_death`), instead of
cancelling the code that entered the monitor (an ASGI lifespan, a worker's main loop).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import anyio

__all__ = ["TaskSupervisor"]

_log = logging.getLogger("alliance_monitor.monitor")


class TaskSupervisor:
    """Runs named background tasks; records those that die."""

    def __init__(self, on_death: Callable[[str, BaseException], None]) -> None:
        self._on_death = on_death
        #: Dead tasks by name, with the exception's type.
        self.failures: dict[str, str] = {}

    async def run(self, name: str, task: Callable[[], Awaitable[None]]) -> None:
        try:
            await task()
        except anyio.get_cancelled_exc_class():
            raise
        except BaseException as exc:
            self.failures[name] = type(exc).__name__
            _log.error(
                "alliance_monitor.background_task_died",
                extra={"task": name, "error": type(exc).__name__},
            )
            self._on_death(name, exc)
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
