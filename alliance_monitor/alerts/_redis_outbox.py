"""An alert outbox in Redis, shared by every scale-out worker: each alert delivered once.

The same rows and statuses as the SQLite `Outbox` (one row per alert id and endpoint: held,
pending, delivered, failed, disabled, digested), the same methods (the dispatcher does not tell
them apart, except that it asks this one for cooldowns each time: another worker may have
alerted), with what several processes need on top:

- **Inserts are idempotent across workers.** A row is written only if its (alert id, endpoint)
  is new, in one script: when a worker dies after alerting and the pair's next holder emits the
  same event again (same cause, same id), nothing is added.
- **Claims.** `due` moves the rows it returns from the due set to a claimed set with an expiry
  (`claim_ttl`: longer than one attempt), in one script, so two workers never start the same
  delivery. A worker that dies with rows claimed (kill -9 mid-request) leaves them to expire:
  the next `due` of any worker puts them back and delivers them. The receiver may then get an
  alert twice when the dead worker's request had reached it: at-least-once, with the same
  ``webhook-id``, which receivers de-duplicate on (Standard Webhooks).
- **Digests** are taken all-or-nothing: a digest is added only if every member is still held,
  so two workers flushing at once cannot send an alert in two digests.

Keys, all under `prefix` (a worker's default: ``alliance-monitor:NAME:outbox:``):

    r:{id}\\x1f{endpoint}   hash  the row's fields (payload as sent)
    due:{endpoint}         zset  pending rows -> next attempt time
    claimed                zset  rows being delivered -> claim expiry
    held:{endpoint}        zset  rows held for a digest -> when held
    st:{status}            set   delivered, failed, disabled, digested rows
    done                   zset  delivered and digested rows -> last update (for purge)
    dig:{digest row}       set   a digest's members
    conv:{conversation}    set   the pair's rows (for erasure)
    idn                    hash  alert id -> its rows (has_alert)
    eps                    set   endpoint names
    endpoints              hash  disabled endpoint -> reason
    cd:{pair}\\x1f{type}     str   cooldown "time rank", expiring after `retain` seconds

Times are the dispatcher's clock (epoch seconds): keep the workers' clocks in sync (NTP).
Calls are blocking round trips; the dispatcher makes them from a worker thread. Redis
persistence is the server's (see `RedisStore`): with ``appendfsync everysec`` a power loss of
the Redis host can lose the last second of alerts.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._errors import ConfigError
from ._outbox import OutboxRow

if TYPE_CHECKING:
    from redis import Redis

__all__ = ["RedisOutbox"]

_SEP = "\x1f"
_FIELDS = (
    "alert_id",
    "endpoint",
    "event_type",
    "severity",
    "priority",
    "payload",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
    "last_error",
    "last_status",
    "conversation_id",
)

# Shared by the scripts: (un)indexing a row by its status. ARGV[1] is the prefix everywhere.
_PRELUDE = """
local p = ARGV[1]
local SEP = '\\31'
local function index(m, rk)
  local st, ep = unpack(redis.call('HMGET', rk, 'status', 'endpoint'))
  if st == 'pending' then
    redis.call('ZADD', p .. 'due:' .. ep, redis.call('HGET', rk, 'next_attempt_at'), m)
  elseif st == 'held' then
    redis.call('ZADD', p .. 'held:' .. ep, redis.call('HGET', rk, 'created_at'), m)
  else
    redis.call('SADD', p .. 'st:' .. st, m)
    if st == 'delivered' or st == 'digested' then
      redis.call('ZADD', p .. 'done', redis.call('HGET', rk, 'updated_at'), m)
    end
  end
end
local function unindex(m, rk)
  local st, ep = unpack(redis.call('HMGET', rk, 'status', 'endpoint'))
  if not st then return end
  redis.call('ZREM', p .. 'due:' .. ep, m)
  redis.call('ZREM', p .. 'claimed', m)
  redis.call('ZREM', p .. 'held:' .. ep, m)
  redis.call('SREM', p .. 'st:' .. st, m)
  redis.call('ZREM', p .. 'done', m)
end
local function put(i)
  -- a new row from ARGV[i..i+13]; false if it exists
  local aid, ep = ARGV[i], ARGV[i + 1]
  local m = aid .. SEP .. ep
  local rk = p .. 'r:' .. m
  if redis.call('EXISTS', rk) == 1 then return false end
  redis.call('HSET', rk, 'alert_id', aid, 'endpoint', ep, 'event_type', ARGV[i + 2],
             'severity', ARGV[i + 3], 'priority', ARGV[i + 4], 'payload', ARGV[i + 5],
             'status', ARGV[i + 6], 'attempts', ARGV[i + 7], 'next_attempt_at', ARGV[i + 8],
             'created_at', ARGV[i + 9], 'updated_at', ARGV[i + 13])
  if ARGV[i + 10] ~= '' then redis.call('HSET', rk, 'last_error', ARGV[i + 10]) end
  if ARGV[i + 11] ~= '' then redis.call('HSET', rk, 'last_status', ARGV[i + 11]) end
  if ARGV[i + 12] ~= '' then
    redis.call('HSET', rk, 'conversation_id', ARGV[i + 12])
    redis.call('SADD', p .. 'conv:' .. ARGV[i + 12], m)
  end
  index(m, rk)
  redis.call('SADD', p .. 'eps', ep)
  redis.call('HINCRBY', p .. 'idn', aid, 1)
  return true
end
local function drop(m)
  -- delete a row and every index of it; returns its digest id (or false)
  local rk = p .. 'r:' .. m
  local aid, conv, dig = unpack(redis.call('HMGET', rk, 'alert_id', 'conversation_id', 'digest_id'))
  if not aid then return false end
  unindex(m, rk)
  redis.call('DEL', rk)
  if conv then redis.call('SREM', p .. 'conv:' .. conv, m) end
  redis.call('DEL', p .. 'dig:' .. m)
  if redis.call('HINCRBY', p .. 'idn', aid, -1) <= 0 then redis.call('HDEL', p .. 'idn', aid) end
  return dig
end
"""

# ARGV: prefix, cooldown key ('' none), cooldown value, cooldown ttl ms, n, rows (14 each).
_INSERT = (
    _PRELUDE
    + """
local n, i, inserted = tonumber(ARGV[5]), 6, 0
for _ = 1, n do
  if put(i) then inserted = inserted + 1 end
  i = i + 14
end
if inserted > 0 and ARGV[2] ~= '' then
  redis.call('SET', p .. 'cd:' .. ARGV[2], ARGV[3], 'PX', ARGV[4])
end
return inserted
"""
)

# ARGV: prefix, member, status, attempts, now, next ('' keep), error (''), http status ('').
_MARK = (
    _PRELUDE
    + """
local m = ARGV[2]
local rk = p .. 'r:' .. m
if redis.call('EXISTS', rk) == 0 then return 0 end
unindex(m, rk)
redis.call('HSET', rk, 'status', ARGV[3], 'attempts', ARGV[4], 'updated_at', ARGV[5])
redis.call('HDEL', rk, 'claimed_by')
if ARGV[6] ~= '' then redis.call('HSET', rk, 'next_attempt_at', ARGV[6]) end
if ARGV[7] ~= '' then redis.call('HSET', rk, 'last_error', ARGV[7])
else redis.call('HDEL', rk, 'last_error') end
if ARGV[8] ~= '' then redis.call('HSET', rk, 'last_status', ARGV[8])
else redis.call('HDEL', rk, 'last_status') end
index(m, rk)
return 1
"""
)

# ARGV: prefix, now, limit, claim until, token, then (endpoint, its limit) pairs.
_DUE = (
    _PRELUDE
    + """
local now, limit = tonumber(ARGV[2]), tonumber(ARGV[3])
for _, m in ipairs(redis.call('ZRANGEBYSCORE', p .. 'claimed', '-inf', now)) do
  redis.call('ZREM', p .. 'claimed', m)
  local rk = p .. 'r:' .. m
  if redis.call('HGET', rk, 'status') == 'pending' then
    redis.call('HDEL', rk, 'claimed_by')
    index(m, rk)
  end
end
local cands = {}
for e = 6, #ARGV, 2 do
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', p .. 'due:' .. ARGV[e], '-inf', now,
                                'LIMIT', 0, tonumber(ARGV[e + 1]))) do
    local pr, nx = unpack(redis.call('HMGET', p .. 'r:' .. m, 'priority', 'next_attempt_at'))
    table.insert(cands, {m, tonumber(pr), tonumber(nx), ARGV[e]})
  end
end
table.sort(cands, function(a, b)
  if a[2] ~= b[2] then return a[2] > b[2] end
  return a[3] < b[3]
end)
local out = {}
for k = 1, math.min(limit, #cands) do
  local m, ep = cands[k][1], cands[k][4]
  local rk = p .. 'r:' .. m
  redis.call('ZREM', p .. 'due:' .. ep, m)
  redis.call('ZADD', p .. 'claimed', ARGV[4], m)
  redis.call('HSET', rk, 'claimed_by', ARGV[5])
  table.insert(out, redis.call('HMGET', rk, FIELDS))
end
return out
"""
).replace("FIELDS", ", ".join(f"'{f}'" for f in _FIELDS))

# ARGV: prefix, members.
_RELEASE = (
    _PRELUDE
    + """
for k = 2, #ARGV do
  local m = ARGV[k]
  local rk = p .. 'r:' .. m
  local was = redis.call('ZREM', p .. 'claimed', m)
  if was == 1 and redis.call('HGET', rk, 'status') == 'pending' then
    redis.call('HDEL', rk, 'claimed_by')
    index(m, rk)
  end
end
return 1
"""
)

# ARGV: prefix, endpoint, now, reason.
_DISABLE = (
    _PRELUDE
    + """
local ep = ARGV[2]
redis.call('HSET', p .. 'endpoints', ep, ARGV[4])
local ms = redis.call('ZRANGE', p .. 'due:' .. ep, 0, -1)
for _, m in ipairs(redis.call('ZRANGE', p .. 'held:' .. ep, 0, -1)) do table.insert(ms, m) end
for _, m in ipairs(redis.call('ZRANGE', p .. 'claimed', 0, -1)) do
  if redis.call('HGET', p .. 'r:' .. m, 'endpoint') == ep then table.insert(ms, m) end
end
for _, m in ipairs(ms) do
  local rk = p .. 'r:' .. m
  unindex(m, rk)
  redis.call('HSET', rk, 'status', 'disabled', 'updated_at', ARGV[3], 'last_error', ARGV[4])
  index(m, rk)
end
return #ms
"""
)

# ARGV: prefix, endpoint ('' every one), now, from status ('disabled' / 'failed').
_REQUEUE = (
    _PRELUDE
    + """
local n = 0
for _, m in ipairs(redis.call('SMEMBERS', p .. 'st:' .. ARGV[4])) do
  local rk = p .. 'r:' .. m
  if ARGV[2] == '' or redis.call('HGET', rk, 'endpoint') == ARGV[2] then
    unindex(m, rk)
    redis.call('HSET', rk, 'status', 'pending', 'attempts', 0, 'next_attempt_at', ARGV[3],
               'updated_at', ARGV[3])
    index(m, rk)
    n = n + 1
  end
end
if ARGV[4] == 'disabled' and ARGV[2] ~= '' then redis.call('HDEL', p .. 'endpoints', ARGV[2]) end
return n
"""
)

# ARGV: prefix, the digest row (14 fields), then member ids. 0 when a member is not held.
_DIGEST = (
    _PRELUDE
    + """
for k = 16, #ARGV do
  if redis.call('HGET', p .. 'r:' .. ARGV[k], 'status') ~= 'held' then return 0 end
end
if not put(2) then return 0 end
local dm = ARGV[2] .. SEP .. ARGV[3]
local at = ARGV[11]
for k = 16, #ARGV do
  local m = ARGV[k]
  local rk = p .. 'r:' .. m
  unindex(m, rk)
  redis.call('HSET', rk, 'status', 'digested', 'digest_id', ARGV[2], 'updated_at', at)
  index(m, rk)
  redis.call('SADD', p .. 'dig:' .. dm, m)
end
return 1
"""
)

# ARGV: prefix, before.
_PURGE = (
    _PRELUDE
    + """
local ms = redis.call('ZRANGEBYSCORE', p .. 'done', '-inf', '(' .. ARGV[2])
for _, m in ipairs(ms) do drop(m) end
return #ms
"""
)

# ARGV: prefix, conversation id. Returns {alerts, digests}.
_ERASE = (
    _PRELUDE
    + """
local conv = ARGV[2]
local alerts, digests, seen = 0, 0, {}
for _, m in ipairs(redis.call('SMEMBERS', p .. 'conv:' .. conv)) do
  local ep = redis.call('HGET', p .. 'r:' .. m, 'endpoint')
  local dig = drop(m)
  if dig then
    local dm = dig .. SEP .. ep
    if not seen[dm] then seen[dm] = true end
  end
  alerts = alerts + 1
end
redis.call('DEL', p .. 'conv:' .. conv)
for dm, _ in pairs(seen) do
  local rk = p .. 'r:' .. dm
  local st = redis.call('HGET', rk, 'status')
  if st then
    if st == 'pending' or st == 'disabled' then
      -- not sent yet: its other members are digested again
      for _, m in ipairs(redis.call('SMEMBERS', p .. 'dig:' .. dm)) do
        local mk = p .. 'r:' .. m
        if redis.call('EXISTS', mk) == 1 then
          unindex(m, mk)
          redis.call('HSET', mk, 'status', 'held')
          redis.call('HDEL', mk, 'digest_id')
          index(m, mk)
        end
      end
    end
    drop(dm)
    digests = digests + 1
  end
end
return {alerts, digests}
"""
)


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _row_args(r: OutboxRow, updated_at: float) -> list[Any]:
    return [
        r.alert_id,
        r.endpoint,
        r.event_type,
        r.severity,
        r.priority,
        r.payload,
        r.status,
        r.attempts,
        repr(float(r.next_attempt_at)),
        repr(float(r.created_at)),
        _text(r.last_error),
        _text(r.last_status),
        _text(r.conversation_id),
        repr(float(updated_at)),
    ]


def _row(values: Sequence[bytes | None]) -> OutboxRow:
    f = dict(zip(_FIELDS, values, strict=True))

    def s(name: str) -> str | None:
        v = f[name]
        return None if v is None else v.decode()

    return OutboxRow(
        alert_id=s("alert_id") or "",
        endpoint=s("endpoint") or "",
        event_type=s("event_type") or "",
        severity=s("severity") or "",
        priority=int(s("priority") or 0),
        payload=f["payload"] or b"",
        status=s("status") or "",
        attempts=int(s("attempts") or 0),
        next_attempt_at=float(s("next_attempt_at") or 0.0),
        created_at=float(s("created_at") or 0.0),
        last_error=s("last_error"),
        last_status=int(v) if (v := s("last_status")) else None,
        conversation_id=s("conversation_id"),
    )


class RedisOutbox:
    """The alert outbox in Redis (module docstring): what `AlertDispatcher(outbox=...)` takes
    to share alerts between processes. `url` as for redis-py; `claim_ttl`: seconds a claimed
    row is left to its worker (more than one attempt takes); `retain`: seconds cooldowns live."""

    #: The dispatcher asks for cooldowns each time and re-reads disabled endpoints.
    shared = True
    #: Blocking round trips: the dispatcher calls them from a worker thread.
    threaded_inserts = True
    path: str | None = None

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "alliance-monitor:outbox:",
        claim_ttl: float = 60.0,
        retain: float = 7 * 86400.0,
        client: Redis | None = None,
    ) -> None:
        if not prefix:
            raise ConfigError("RedisOutbox.prefix must not be empty")
        if claim_ttl <= 0:
            raise ConfigError("RedisOutbox.claim_ttl must be > 0")
        self.url = url
        self.prefix = prefix
        self.claim_ttl = claim_ttl
        self.retain = retain
        self.token = ""
        if client is None:
            try:
                import redis
            except ImportError as exc:  # pragma: no cover - only without the extra
                raise ConfigError(
                    "a Redis outbox needs redis-py: pip install 'alliance-monitor[redis]'"
                ) from exc
            client = redis.Redis.from_url(url, decode_responses=False)
        #: The sync client (redis-py's stubs type its replies loosely: Any here).
        self._r: Any = client
        r = self._r
        self._insert = r.register_script(_INSERT)
        self._mark = r.register_script(_MARK)
        self._due = r.register_script(_DUE)
        self._disable = r.register_script(_DISABLE)
        self._requeue = r.register_script(_REQUEUE)
        self._digest = r.register_script(_DIGEST)
        self._purge = r.register_script(_PURGE)
        self._erase = r.register_script(_ERASE)
        self._release = r.register_script(_RELEASE)
        r.ping()

    def __repr__(self) -> str:
        return f"RedisOutbox(prefix={self.prefix!r})"

    def close(self) -> None:
        self._r.close()

    # --- writes ---------------------------------------------------------------------------
    def insert(
        self, rows: Iterable[OutboxRow], cooldown: tuple[str, float, int] | None = None
    ) -> int:
        """New rows (existing (id, endpoint) pairs left alone) and the cooldown, atomically."""
        rows = list(rows)
        args: list[Any] = [self.prefix]
        if cooldown is not None:
            key, at, rank = cooldown
            args += [key, f"{at!r} {rank}", max(1, int(self.retain * 1000))]
        else:
            args += ["", "", 0]
        args.append(len(rows))
        for r in rows:
            args += _row_args(r, r.created_at)
        return int(self._insert(args=args))

    insert_threadsafe = insert

    def mark(
        self,
        key: tuple[str, str],
        *,
        status: str,
        attempts: int,
        now: float,
        next_attempt_at: float | None = None,
        error: str | None = None,
        http_status: int | None = None,
    ) -> None:
        """Record an attempt's outcome (and release the claim)."""
        next_at = "" if next_attempt_at is None else repr(float(next_attempt_at))
        self._mark(
            args=[
                self.prefix,
                _SEP.join(key),
                status,
                attempts,
                repr(float(now)),
                next_at,
                _text(error),
                _text(http_status),
            ]
        )

    def disable_endpoint(self, name: str, now: float, reason: str) -> int:
        return int(self._disable(args=[self.prefix, name, repr(float(now)), reason]))

    disable_endpoint_threadsafe = disable_endpoint

    def enable_endpoint(self, name: str, now: float) -> int:
        self._r.hdel(self.prefix + "endpoints", name)
        return int(self._requeue(args=[self.prefix, name, repr(float(now)), "disabled"]))

    def add_digest(self, digest: OutboxRow, members: Sequence[tuple[str, str]]) -> bool:
        """Add the digest and mark its members digested, only if every one is still held (two
        workers flushing at once: the second finds them taken and adds nothing)."""
        args = [self.prefix, *_row_args(digest, digest.created_at)]
        args += [_SEP.join(m) for m in members]
        return bool(self._digest(args=args))

    add_digest_threadsafe = add_digest

    def requeue_failed(self, endpoint: str | None, now: float) -> int:
        return int(self._requeue(args=[self.prefix, endpoint or "", repr(float(now)), "failed"]))

    def purge(self, before: float) -> int:
        """Delete delivered and digested rows last updated before `before` (cooldowns expire on
        their own after `retain`)."""
        return int(self._purge(args=[self.prefix, repr(float(before))]))

    def erase(self, conversation_id: str) -> dict[str, int]:
        """Every row about the pair, the digests carrying one (a digest not yet sent gives its
        other members back to be digested again), its cooldowns. Counts by kind."""
        alerts, digests = self._erase(args=[self.prefix, conversation_id])
        pattern = _glob(f"{self.prefix}cd:{conversation_id}{_SEP}") + "*"
        cooldowns = 0
        for key in self._r.scan_iter(match=pattern, count=1000):
            cooldowns += int(self._r.delete(key))
        return {
            "outbox.alerts": int(alerts),
            "outbox.digests": int(digests),
            "outbox.cooldowns": cooldowns,
        }

    # --- reads ----------------------------------------------------------------------------
    def has_alert(self, alert_id: str) -> bool:
        return bool(self._r.hexists(self.prefix + "idn", alert_id))

    def cooldown(self, key: str) -> tuple[float, int] | None:
        """The last alert of this pair and type, by any worker: (time, severity rank)."""
        raw = self._r.get(self.prefix + "cd:" + key)
        if raw is None:
            return None
        at, rank = bytes(raw).decode().split()
        return float(at), int(rank)

    def due(
        self,
        now: float,
        limit: int,
        endpoints: Collection[str],
        caps: Mapping[str, int] | None = None,
    ) -> list[OutboxRow]:
        """Claim up to `limit` due rows of `endpoints` (at most `caps[name]` of an endpoint),
        most severe first; expired claims of a dead worker are put back first. Claimed rows
        are this process's to deliver (`release` what it does not start)."""
        pairs = [(ep, limit if caps is None else caps.get(ep, limit)) for ep in endpoints]
        pairs = [(ep, n) for ep, n in pairs if n > 0]
        if not pairs or limit <= 0:
            return []
        until = repr(float(now) + self.claim_ttl)
        args: list[str | int] = [self.prefix, repr(float(now)), limit, until, self.token]
        args += [x for pair in pairs for x in pair]
        return [_row(values) for values in self._due(args=args)]

    def release(self, keys: Iterable[tuple[str, str]]) -> None:
        """Give claimed rows back (due again at once), e.g. those not started."""
        members = [_SEP.join(k) for k in keys]
        if members:
            self._release(args=[self.prefix, *members])

    def next_due_at(
        self, endpoints: Collection[str], skip: Collection[tuple[str, str]] = ()
    ) -> float | None:
        """When the next pending row of `endpoints` is due, or a claim runs out (a dead
        worker's rows come back then)."""
        pipe = self._r.pipeline(transaction=False)
        for ep in endpoints:
            pipe.zrange(f"{self.prefix}due:{ep}", 0, 0, withscores=True)
        pipe.zrange(self.prefix + "claimed", 0, 0, withscores=True)
        times = [float(score) for items in pipe.execute() for _m, score in items]
        return min(times) if times else None

    def _endpoints(self) -> list[str]:
        return sorted(m.decode() for m in self._r.smembers(self.prefix + "eps"))

    def held_since(self) -> dict[str, float]:
        eps = self._endpoints()
        pipe = self._r.pipeline(transaction=False)
        for ep in eps:
            pipe.zrange(f"{self.prefix}held:{ep}", 0, 0, withscores=True)
        out = {}
        for ep, items in zip(eps, pipe.execute(), strict=True):
            if items:
                out[ep] = float(items[0][1])
        return out

    def _rows(self, members: Sequence[bytes | str]) -> list[OutboxRow]:
        pipe = self._r.pipeline(transaction=False)
        for m in members:
            name = m.decode() if isinstance(m, bytes) else m
            pipe.hmget(f"{self.prefix}r:{name}", list(_FIELDS))
        return [_row(v) for v in pipe.execute() if v[0] is not None]

    def held(self, endpoint: str) -> list[OutboxRow]:
        return self._rows(self._r.zrange(f"{self.prefix}held:{endpoint}", 0, -1))

    def _members(self, status: str) -> list[bytes]:
        p = self.prefix
        if status == "pending":
            out = [m for ep in self._endpoints() for m in self._r.zrange(f"{p}due:{ep}", 0, -1)]
            return out + list(self._r.zrange(p + "claimed", 0, -1))
        if status == "held":
            return [m for ep in self._endpoints() for m in self._r.zrange(f"{p}held:{ep}", 0, -1)]
        return list(self._r.smembers(f"{p}st:{status}"))

    def counts(self) -> dict[str, int]:
        p = self.prefix
        eps = self._endpoints()
        pipe = self._r.pipeline(transaction=False)
        for ep in eps:
            pipe.zcard(f"{p}due:{ep}")
            pipe.zcard(f"{p}held:{ep}")
        pipe.zcard(p + "claimed")
        statuses = ("delivered", "failed", "disabled", "digested")
        for st in statuses:
            pipe.scard(f"{p}st:{st}")
        res = pipe.execute()
        pending = sum(res[0 : 2 * len(eps) : 2]) + res[2 * len(eps)]
        held = sum(res[1 : 2 * len(eps) : 2])
        out = {"pending": pending, "held": held}
        out.update(zip(statuses, res[2 * len(eps) + 1 :], strict=True))
        return {k: int(v) for k, v in out.items() if v}

    def counts_by_endpoint(self, status: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for m in self._members(status):
            ep = m.decode().split(_SEP, 1)[1]
            out[ep] = out.get(ep, 0) + 1
        return out

    def rows(self, status: str | None = None) -> list[OutboxRow]:
        statuses = (
            [status]
            if status is not None
            else ["pending", "held", "delivered", "failed", "disabled", "digested"]
        )
        rows = [r for st in statuses for r in self._rows(self._members(st))]
        return sorted(rows, key=lambda r: r.created_at)

    def cooldowns(self) -> dict[str, tuple[float, int]]:
        return {}  # asked for each time (`cooldown`): another worker may have alerted

    def disabled_endpoints(self) -> dict[str, str]:
        raw = self._r.hgetall(self.prefix + "endpoints")
        return {k.decode(): v.decode() for k, v in raw.items()}

    def integrity_ok(self) -> bool:
        return bool(self._r.ping())

    def clear(self) -> int:
        """Delete every key under the prefix (tests, tools)."""
        n = 0
        for key in self._r.scan_iter(match=_glob(self.prefix) + "*", count=1000):
            n += int(self._r.delete(key))
        return n


def _glob(prefix: str) -> str:
    out = []
    for ch in prefix:
        out.append("\\" + ch if ch in "*?[]\\" else ch)
    return "".join(out)
