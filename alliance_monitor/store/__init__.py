"""State stores: in-memory (default), SQLite (embedded, durable), Redis (shared by workers)."""

from __future__ import annotations

from urllib.parse import urlparse

from .._errors import ConfigError
from ._base import PairRecord, StateStore, StoreBatch
from ._memory import MemoryStore
from ._sqlite import SQLiteStore

__all__ = ["MemoryStore", "PairRecord", "SQLiteStore", "StateStore", "StoreBatch", "open_store"]


def open_store(url: str) -> StateStore:
    """A store from a URL: `memory://`, `sqlite:///path/state.db`, `redis://host:port/db`."""
    parsed = urlparse(url)
    if parsed.scheme == "memory":
        return MemoryStore()
    if parsed.scheme == "sqlite":
        # sqlite:///relative/path.db or sqlite:////absolute/path.db (SQLAlchemy's convention)
        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else ""
        if not path:
            raise ConfigError("sqlite store URL needs a path: sqlite:///path/state.db")
        return SQLiteStore(path)
    if parsed.scheme in ("redis", "rediss", "unix"):
        from ._redis import RedisStore  # optional dependency, imported on use

        store: StateStore = RedisStore(url)
        return store
    raise ConfigError(f"unknown store URL scheme {parsed.scheme!r} (memory, sqlite, redis)")
