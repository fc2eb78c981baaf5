"""Files that hold message text or alerts are readable by their owner only (0600).

SQLite creates a database's ``-wal`` and ``-shm`` files with the database file's permissions,
so creating the database file itself 0600 before SQLite opens it covers all three. A database
created earlier with wider permissions is narrowed, with its ``-wal``, ``-shm`` and
``-journal`` files.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["private_sqlite_file"]

_SIDECARS = ("", "-wal", "-shm", "-journal")


def private_sqlite_file(path: str | Path) -> None:
    """Create `path` if missing, with mode 0600 (its folder must exist); narrow an existing
    database and its sidecar files to 0600. In-memory and URI databases are left alone."""
    p = str(path)
    if p in ("", ":memory:") or p.startswith("file:"):
        return
    try:
        fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o600)
    except OSError:  # no such folder, read-only medium...: SQLite reports it in its own words
        return
    os.close(fd)
    for suffix in _SIDECARS:
        try:
            mode = os.stat(p + suffix).st_mode
        except FileNotFoundError:
            continue
        if stat.S_IMODE(mode) & 0o077:
            os.chmod(p + suffix, stat.S_IMODE(mode) & 0o700)
