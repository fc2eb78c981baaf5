"""State stores: in-memory (default), SQLite (embedded, durable), Redis (shared by workers).

Pass one to `Monitor(store=...)`, or build it from a URL with `open_store` (`memory://`,
`sqlite:///relative.db`, `sqlite:////absolute.db`, `redis://host:6379/0`). A durable store keeps
each pair's open windows, baseline and recent ids so a restart loses nothing; `max_pairs=` on the
monitor evicts idle pairs to the store and loads them back when they speak again.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from .._errors import ConfigError
from ._base import (
    BoardRow,
    JournalRow,
    PairRecord,
    PendingKey,
    PendingRow,
    SnapshotRow,
    StateStore,
    StoreBatch,
)
from ._memory import MemoryStore
from ._redis import RedisStore, import_redis  # the redis package itself is imported lazily
from ._sqlite import SQLiteStore

__all__ = [
    "BoardRow",
    "JournalRow",
    "MemoryStore",
    "PairRecord",
    "PendingKey",
    "PendingRow",
    "RedisStore",
    "SQLiteStore",
    "SnapshotRow",
    "StateStore",
    "StoreBatch",
    "import_redis",
    "open_store",
]


def open_store(url: str) -> StateStore:
    """A store from a URL.

    - `memory://`: in memory, nothing survives the process (the default).
    - `sqlite:///state.db`, `sqlite:///data/state.db`: a file relative to the working directory;
      `sqlite:////var/lib/am/state.db` (four slashes): an absolute path (SQLAlchemy's convention).
      The folder must exist, unless the URL ends with `?create_dirs=1`.
    - `redis://host:port/db`, `rediss://...`, `unix://...`: Redis (`alliance-monitor[redis]`).
    """
    parsed = urlparse(url)
    if parsed.scheme == "memory":
        return MemoryStore()
    if parsed.scheme == "sqlite":
        rest = url[len("sqlite:///") :] if url.startswith("sqlite:///") else ""
        path, _, query = rest.partition("?")
        if not path:
            raise ConfigError("sqlite store URL needs a path: sqlite:///path/state.db")
        options = parse_qs(query, keep_blank_values=True)
        unknown = sorted(set(options) - {"create_dirs"})
        if unknown:
            raise ConfigError(f"unknown sqlite store URL option(s): {', '.join(unknown)}")
        flag = options.get("create_dirs", ["0"])[-1].lower()
        if flag not in ("0", "1", "true", "false", ""):
            raise ConfigError("sqlite store URL option create_dirs must be 1 or 0")
        return SQLiteStore(path, create_dirs=flag in ("1", "true", ""))
    if parsed.scheme in ("redis", "rediss", "unix"):
        from ._redis import RedisStore  # optional dependency, imported on use

        store: StateStore = RedisStore(url)
        return store
    raise ConfigError(f"unknown store URL scheme {parsed.scheme!r} (memory, sqlite, redis)")
