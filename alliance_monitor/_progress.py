"""Progress lines for the command line (only when stderr is a terminal)."""

from __future__ import annotations

import sys
import time

__all__ = ["Progress"]


class Progress:
    """Progress on stderr, only when stderr is a terminal."""

    def __init__(self, label: str, total: int | None = None) -> None:
        self.on = sys.stderr.isatty()
        self.label, self.total, self.n, self._last = label, total, 0, 0.0

    def step(self, k: int = 1) -> None:
        self.n += k
        now = time.monotonic()
        if self.on and now - self._last > 0.2:
            self._last = now
            of = f"/{self.total}" if self.total else ""
            sys.stderr.write(f"\r{self.label}: {self.n}{of}")
            sys.stderr.flush()

    def done(self) -> None:
        if self.on:
            sys.stderr.write("\r" + " " * 60 + "\r")
            sys.stderr.flush()
