"""One writer per state file: an exclusive lock on ``<file>.lock``, holding the owner's pid.

SQLite lets several processes open one database, and each would then keep its own in-memory
state of the same pairs and overwrite what the other accepted (two `serve` processes on one
shared volume during a rolling deploy do exactly this). The first process to open a state file
takes an exclusive, non-blocking lock on a sidecar file next to it and writes its pid there; a
second one fails at once with `StoreLocked`, naming the file and that pid.

The lock is an `flock` on an open file: the kernel drops it when the process ends, however it
ends (kill -9 included), so a stale lock never blocks a restart. The sidecar file is left in
place (removing it would let a third process lock a new file while the second still holds the
old one). On a network file system flock may be emulated or not shared between hosts: keep
state files on local disks.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from ._errors import StoreLocked

__all__ = ["FileLock"]


class FileLock:
    """An exclusive lock on ``path + ".lock"``, taken by `acquire()`, dropped by `release()`."""

    def __init__(self, path: str | Path, *, what: str = "state file") -> None:
        self.target = str(path)
        self.path = self.target + ".lock"
        self.what = what
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise `StoreLocked` (naming the file and the holder's pid)."""
        if self._fd is not None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if not _try_lock(fd):
                pid = _read_pid(fd)
                holder = f"pid {pid}" if pid is not None else "an unknown process"
                raise StoreLocked(
                    f"the {self.what} {self.target} is in use by another process ({holder}); "
                    "one process per file: stop it, or give this one its own file",
                    pid=pid,
                )
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"{os.getpid()}\n".encode())
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            os.close(fd)  # closing drops the lock


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _read_pid(fd: int) -> int | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        raw = os.read(fd, 32)
    except OSError:
        return None
    text = raw.decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else None
