"""Redis store: shared state for several monitor processes (the scale-out workers).

Same model and semantics as `SQLiteStore`: per pair a snapshot, the journal after it and the
pending windows; one `StoreBatch` is applied atomically by one Lua script (no other client sees
half a batch, and a failed script leaves nothing behind); a snapshot at position p drops the
journal entries at or before p.

Keys, all under `prefix` (default ``alliance-monitor:``):

    {prefix}s:{conv}   hash  pos, state (zlib-compressed JSON), resident
    {prefix}j:{conv}   hash  position -> message JSON (the journal after the snapshot)
    {prefix}w:{conv}   hash  window index -> request JSON (closed windows awaiting a score)
    {prefix}live       set   pairs with a resident snapshot, a journal or pending windows
    {prefix}emitted    set   ids of events already emitted
    {prefix}board      hash  conversation -> supervisor-board record (`BoardRow`)
    {prefix}board:v    int   change number of the board records (incremented per change)
    {prefix}board:changed  zset  conversation -> the change number of its record's last write

What survives (the monitor's process can always be killed: what `commit()` acknowledged is in
the Redis server's memory). Whether it survives a crash of the *Redis server* or of its machine
is Redis's persistence setting, not ours:

- ``appendonly yes`` + ``appendfsync always``: every acknowledged batch is in the AOF and
  fsynced; survives a server crash and a power loss. Slowest.
- ``appendonly yes`` + ``appendfsync everysec`` (Redis's default AOF policy and what
  ``scripts/start-redis.sh`` runs): survives a server crash (kill -9 of redis-server); a power
  loss or OS crash can lose about the last second of acknowledged batches.
- RDB snapshots only (``save ...``, Redis's default without AOF): a server crash loses everything
  since the last snapshot, typically minutes. Not suitable for this data.
- Replication is asynchronous: a failover to a replica can lose acknowledged batches.

Lost batches show up as messages the platform already saw acknowledged; re-publishing the
stream range after an incident restores them (duplicates are absorbed by the monitor).

Redis Cluster is not supported: a batch touches keys of many pairs in one script. Use one
primary (with replicas / Sentinel for availability). The journal holds the text of open
windows: protect the server like the chat database (ACLs, TLS with ``rediss://``, no public
bind).

Fencing: `commit(batch, fence={key: value})` applies the batch only if every `key` holds
`value` at that instant, inside the same script. Scale-out workers pass their shard leases, so
a worker whose lease expired can never overwrite the new holder's state (see
`adapters/redis_streams.py`).
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._errors import ConfigError, MonitorClosed, StoreFenced
from ._base import PairRecord, StateStore, StoreBatch

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisStore", "StoreFenced", "import_redis"]

_INSTALL = "the Redis store needs redis-py: pip install 'alliance-monitor[redis]'"


def import_redis() -> Any:
    """`redis.asyncio`, or a ConfigError that says how to install it."""
    try:
        import redis.asyncio as aioredis
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ConfigError(_INSTALL) from exc
    return aioredis


# ARGV: prefix, then sections, each a count followed by that many fixed-size records:
#   fence (key, value), journal (conv, pos, msg), pending_put (conv, win, req),
#   pending_del (conv, win), snapshots (conv, pos, state, resident), emitted (id),
#   board (conv, record; an empty record deletes it).
# Flat arguments (not JSON) keep the bytes exactly as sent and cost no parsing in Lua.
_COMMIT = """
local p = ARGV[1]
local i = 2
local function section(width)
  local n = tonumber(ARGV[i]); local start = i + 1
  i = start + n * width
  return start, n
end
local s, n = section(2)
for k = 0, n - 1 do
  local at = s + 2 * k
  if redis.call('GET', ARGV[at]) ~= ARGV[at + 1] then
    return redis.error_reply('FENCED ' .. ARGV[at])
  end
end
local touched = {}
s, n = section(3)
for k = 0, n - 1 do
  local at = s + 3 * k
  redis.call('HSETNX', p .. 'j:' .. ARGV[at], ARGV[at + 1], ARGV[at + 2])
  touched[ARGV[at]] = true
end
s, n = section(3)
for k = 0, n - 1 do
  local at = s + 3 * k
  redis.call('HSET', p .. 'w:' .. ARGV[at], ARGV[at + 1], ARGV[at + 2])
  touched[ARGV[at]] = true
end
s, n = section(2)
for k = 0, n - 1 do
  local at = s + 2 * k
  redis.call('HDEL', p .. 'w:' .. ARGV[at], ARGV[at + 1])
  touched[ARGV[at]] = true
end
s, n = section(4)
for k = 0, n - 1 do
  local at = s + 4 * k
  local conv, pos = ARGV[at], tonumber(ARGV[at + 1])
  redis.call('HSET', p .. 's:' .. conv, 'pos', ARGV[at + 1], 'state', ARGV[at + 2],
             'resident', ARGV[at + 3])
  local jk = p .. 'j:' .. conv
  for _, f in ipairs(redis.call('HKEYS', jk)) do
    if tonumber(f) <= pos then redis.call('HDEL', jk, f) end
  end
  touched[conv] = true
end
for conv, _ in pairs(touched) do
  if redis.call('HGET', p .. 's:' .. conv, 'resident') == '1'
     or redis.call('EXISTS', p .. 'j:' .. conv, p .. 'w:' .. conv) > 0 then
    redis.call('SADD', p .. 'live', conv)
  else
    redis.call('SREM', p .. 'live', conv)
  end
end
s, n = section(1)
for k = 0, n - 1 do
  redis.call('SADD', p .. 'emitted', ARGV[s + k])
end
s, n = section(2)
for k = 0, n - 1 do
  local at = s + 2 * k
  local v = redis.call('INCR', p .. 'board:v')
  if ARGV[at + 1] == '' then
    redis.call('HDEL', p .. 'board', ARGV[at])
    redis.call('ZREM', p .. 'board:changed', ARGV[at])
  else
    redis.call('HSET', p .. 'board', ARGV[at], ARGV[at + 1])
    redis.call('ZADD', p .. 'board:changed', v, ARGV[at])
  end
end
return 1
"""


# KEYS: snapshot, journal, pending, live set, board, board:v, board:changed.
# ARGV: conversation id, then fence pairs (key, value).
_ERASE = """
for i = 2, #ARGV, 2 do
  if redis.call('GET', ARGV[i]) ~= ARGV[i + 1] then
    return redis.error_reply('FENCED ' .. ARGV[i])
  end
end
local out = {redis.call('EXISTS', KEYS[1]), redis.call('HLEN', KEYS[2]),
             redis.call('HLEN', KEYS[3]), redis.call('HDEL', KEYS[5], ARGV[1])}
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('SREM', KEYS[4], ARGV[1])
if out[4] > 0 then
  redis.call('INCR', KEYS[6])
  redis.call('ZREM', KEYS[7], ARGV[1])
end
return out
"""


class RedisStore(StateStore):
    """State in a Redis server shared by every worker. `url` as for redis-py
    (``redis://host:port/db``, ``rediss://`` for TLS, ``unix:///path?db=0``)."""

    durable = True

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "alliance-monitor:",
        client: Redis | None = None,
        compress: bool = True,
    ) -> None:
        if not prefix:
            raise ConfigError("RedisStore.prefix must not be empty")
        self.url = url
        self.prefix = prefix
        self.compress = compress
        self._client = client
        self._own_client = client is None
        self._script: Any = None

    @property
    def redis(self) -> Redis:
        """The connection pool (shared with the scale-out worker for its leases)."""
        if self._client is None:
            raise MonitorClosed("RedisStore is not open")
        return self._client

    async def open(self) -> None:
        if self._client is None:
            aioredis = import_redis()
            self._client = aioredis.Redis.from_url(self.url, decode_responses=False)
        self._script = self.redis.register_script(_COMMIT)
        await self.redis.ping()

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None and self._own_client:
            await client.aclose()

    # ------------------------------------------------------------------ writes
    async def commit(self, batch: StoreBatch, *, fence: Mapping[str, str] | None = None) -> None:
        if not batch:
            return
        args = self._args(batch, fence or {})
        try:
            await self._script(keys=[self.prefix + "live"], args=args)
        except Exception as exc:
            if "FENCED" in str(exc):
                raise StoreFenced("lease lost: batch refused") from None
            raise

    def _args(self, b: StoreBatch, fence: Mapping[str, str]) -> list[str | bytes | int]:
        args: list[str | bytes | int] = [self.prefix, len(fence)]
        for key, value in fence.items():
            args += [key, value]
        args.append(len(b.journal))
        for conv, pos, msg in b.journal:
            args += [conv, pos, msg]
        args.append(len(b.pending_put))
        for conv, idx, req in b.pending_put:
            args += [conv, idx, req]
        args.append(len(b.pending_del))
        for conv, idx in b.pending_del:
            args += [conv, idx]
        args.append(len(b.snapshots))
        for conv, pos, state, resident in b.snapshots:
            args += [conv, pos, self._pack(state), int(resident)]
        args.append(len(b.emitted))
        args += b.emitted
        args.append(len(b.board))
        for conv, record in b.board:
            args += [conv, record if record is not None else b""]
        return args

    def _pack(self, state: str) -> bytes:
        raw = state.encode()
        return zlib.compress(raw, 1) if self.compress else raw

    @staticmethod
    def _unpack(data: bytes) -> Any:
        # zlib streams start with 0x78; JSON objects with "{".
        return json.loads(zlib.decompress(data) if data[:1] == b"x" else data)

    # ------------------------------------------------------------------ reads
    async def load_pair(self, conversation_id: str) -> PairRecord | None:
        p, conv = self.prefix, conversation_id
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hmget(f"{p}s:{conv}", ["pos", "state"])
            pipe.hgetall(f"{p}j:{conv}")
            pipe.hgetall(f"{p}w:{conv}")
            (pos_raw, state), journal, pending = await pipe.execute()
        if state is None and not journal and not pending:
            return None
        pos = int(pos_raw) if pos_raw is not None else -1
        entries = sorted((int(k), v.decode()) for k, v in journal.items() if int(k) > pos)
        return PairRecord(
            conv,
            self._unpack(state) if state is not None else None,
            entries,
            [json.loads(pending[k]) for k in sorted(pending, key=int)],
        )

    async def erase(
        self, conversation_id: str, *, fence: Mapping[str, str] | None = None
    ) -> dict[str, int]:
        """Delete the pair's keys in one script (fenced like `commit`). The server's memory no
        longer holds the text afterwards; its append-only file does until Redis rewrites it
        (BGREWRITEAOF, or the automatic rewrite): see docs/deployment-privacy.md."""
        p, conv = self.prefix, conversation_id
        keys = [f"{p}s:{conv}", f"{p}j:{conv}", f"{p}w:{conv}", p + "live"]
        keys += [p + "board", p + "board:v", p + "board:changed"]
        args = [conv, *(x for kv in (fence or {}).items() for x in kv)]
        try:
            snap, journal, pending, board = await self.redis.eval(_ERASE, len(keys), *keys, *args)
        except Exception as exc:
            if "FENCED" in str(exc):
                raise StoreFenced("lease lost: erasure refused") from None
            raise
        return {
            "snapshots": snap,
            "journal_messages": journal,
            "pending_windows": pending,
            "board_records": board,
        }

    async def load_board(self, conversation_ids: Sequence[str] | None = None) -> dict[str, bytes]:
        key = self.prefix + "board"
        if conversation_ids is None:
            raw: dict[bytes, bytes] = await self.redis.hgetall(key)  # type: ignore[assignment]
            return {k.decode(): v for k, v in raw.items()}
        ids = list(conversation_ids)
        out: dict[str, bytes] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            values: list[bytes | None] = await self.redis.hmget(key, chunk)  # type: ignore[assignment]
            out.update((c, v) for c, v in zip(chunk, values, strict=True) if v is not None)
        return out

    async def board_changes(self, since: int) -> tuple[int, dict[str, bytes]] | None:
        """Records written after change `since` (a board process polls this)."""
        p = self.prefix
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.get(p + "board:v")
            pipe.zrangebyscore(p + "board:changed", f"({since}", "+inf")
            version_raw, changed = await pipe.execute()
        version = int(version_raw or 0)
        convs = [c.decode() for c in changed]
        return version, await self.load_board(convs) if convs else {}

    async def board_size(self) -> int:
        return int(await self.redis.hlen(self.prefix + "board"))

    async def stale_pairs(self, before: float) -> list[str]:
        """Pairs last seen before `before`: every snapshot's ``last_seen`` (and, for pairs never
        snapshotted, their journal's latest timestamp) read by a scan of the prefix's keys, for
        a sweep that runs hours apart (about 1 s per 100,000 pairs here)."""
        p = self.prefix
        out: set[str] = set()
        snapped: set[str] = set()
        async for key in self.redis.scan_iter(match=_glob(p) + "s:*", count=1000):
            conv = key[len(p.encode()) + 2 :].decode()
            snapped.add(conv)
            state: bytes | None = await self.redis.hget(key, "state")  # type: ignore[assignment]
            if state is not None and float(self._unpack(state).get("last_seen") or 0.0) < before:
                out.add(conv)
        async for key in self.redis.scan_iter(match=_glob(p) + "j:*", count=1000):
            conv = key[len(p.encode()) + 2 :].decode()
            if conv in snapped:
                continue
            journal = await self.redis.hvals(key)
            last = max((float(json.loads(m).get("ts") or 0.0) for m in journal), default=0.0)
            if last < before:
                out.add(conv)
        return sorted(out)

    async def resident_pairs(self) -> list[str]:
        convs = [m.decode() async for m in self.redis.sscan_iter(self.prefix + "live", count=1000)]
        return sorted(set(convs))

    async def emitted(self, ids: Sequence[str]) -> set[str]:
        out: set[str] = set()
        for i in range(0, len(ids), 1000):
            chunk = list(ids[i : i + 1000])
            flags = await self.redis.smismember(self.prefix + "emitted", chunk)
            out.update(x for x, hit in zip(chunk, flags, strict=True) if hit)
        return out

    async def probe(self) -> None:
        """Redis answers, and accepts writes (not refused for memory, persistence or a replica)."""
        await self.redis.set(self.prefix + "probe", b"1", px=60_000)

    async def integrity_check(self) -> bool:
        """Redis reports its last AOF/RDB writes ok, and every live pair's records decode."""
        info = await self.redis.info("persistence")
        if info.get("aof_enabled") and info.get("aof_last_write_status", "ok") != "ok":
            return False
        if info.get("rdb_last_bgsave_status", "ok") != "ok":
            return False
        try:
            for conv in await self.resident_pairs():
                rec = await self.load_pair(conv)
                if rec is None:
                    return False
                for _, raw in rec.journal:
                    json.loads(raw)
        except (ValueError, zlib.error):
            return False
        return True

    async def clear(self) -> int:
        """Delete every key under the prefix (tests, tools). Returns how many."""
        n = 0
        pattern = _glob(self.prefix) + "*"
        async for key in self.redis.scan_iter(match=pattern, count=1000):
            n += await self.redis.delete(key)
        return n


def _glob(prefix: str) -> str:
    """`prefix` with the glob characters of SCAN MATCH escaped."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", prefix)
