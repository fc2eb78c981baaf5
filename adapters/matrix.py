"""Matrix: a silent observer account in each counselor-client room, read through a sync loop.

    pip install "alliance-monitor[matrix]"          # matrix-nio

    adapter = MatrixAdapter(
        "https://matrix.example.org", "@alliance-monitor:example.org",
        access_token=os.environ["MATRIX_ACCESS_TOKEN"],
        counselors={"@dr.lee:example.org"},
        conversations=ConversationMap({"!AbCd:example.org": "pair-17"}, only_mapped=True),
    )
    await pump(adapter, monitor)                    # runs until adapter.aclose()

A room is a pair (map room ids with `conversations`; with ``only_mapped`` other rooms are
ignored), the sender's Matrix id gives the role. The observer joins rooms it is invited to (if
they are pairs) and never posts. Each ``m.text`` message becomes a message (event id, server
timestamp); edits, notices (bots) and the observer's own messages are ignored. By default the
loop starts from now; pass `since` (the last `adapter.since`, persisted by the caller) to resume
where it stopped, or ``backfill=True`` to take the recent history of joined rooms too. A room
joined later comes with the recent history the observer may see (room history visibility
permitting), so a pair's first messages are not lost to the invite round-trip. A failed
sync is retried with backoff and `healthy` turns False until one succeeds.

Known limits: end-to-end encrypted rooms are not decrypted (counted as ``encrypted``); when more
events arrive between two syncs than the timeline limit, the gap is counted
(``timeline_gaps``), not back-filled.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import anyio

from alliance_monitor import ConfigError, MatrixLoginError

from ._base import ConversationMap, PullAdapter, PullItem, RecentIds, RoleMap

try:
    import nio  # type: ignore[import-untyped, import-not-found, unused-ignore]
except ImportError:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "the Matrix adapter needs matrix-nio: pip install 'alliance-monitor[matrix]'"
    ) from None

__all__ = ["MatrixAdapter", "MatrixLoginError"]


class MatrixAdapter(PullAdapter):
    """Pull adapter over a matrix-nio sync loop."""

    name = "matrix"

    def __init__(
        self,
        homeserver: str,
        user_id: str,
        *,
        access_token: str | None = None,
        password: str | None = None,
        device_id: str | None = None,
        counselors: Iterable[str] = (),
        roles: RoleMap | None = None,
        conversations: ConversationMap | None = None,
        since: str | None = None,
        backfill: bool = False,
        auto_join: bool = True,
        sync_timeout: float = 10.0,
        timeline_limit: int = 100,
        max_backoff: float = 30.0,
    ) -> None:
        if not access_token and not password:
            raise ConfigError("MatrixAdapter needs access_token or password")
        self.homeserver = homeserver
        self.user_id = user_id
        self._token = access_token
        self._password = password
        self.device_id = device_id
        self.roles = roles or RoleMap.of(counselors)
        self.conversations = conversations or ConversationMap()
        self.since = since
        self.backfill = backfill
        self.auto_join = auto_join
        self.sync_timeout = sync_timeout
        self.timeline_limit = timeline_limit
        self.max_backoff = max_backoff
        self.counts: Counter[str] = Counter()
        self._seen = RecentIds(20_000)
        self._healthy = False
        self._closed = False
        self._client: Any = None

    def __repr__(self) -> str:
        return f"MatrixAdapter({self.homeserver!r}, {self.user_id!r})"

    @property
    def healthy(self) -> bool:
        return self._healthy

    async def aclose(self) -> None:
        self._closed = True
        if self._client is not None:
            await self._client.close()

    async def __aiter__(self) -> AsyncIterator[PullItem]:
        client = await self._connect()
        skip = self.since is None and not self.backfill
        backoff = 1.0
        sync_filter = {"room": {"timeline": {"limit": self.timeline_limit}}}
        try:
            while not self._closed:
                try:
                    resp = await client.sync(
                        timeout=int(self.sync_timeout * 1000),
                        sync_filter=sync_filter,
                        since=self.since,
                        full_state=self.since is None,
                    )
                except (OSError, TimeoutError, nio.exceptions.ProtocolError):
                    resp = None
                if not isinstance(resp, nio.SyncResponse):
                    self._healthy = False
                    self.counts["sync_failures"] += 1
                    await anyio.sleep(backoff)
                    backoff = min(backoff * 2, self.max_backoff)
                    continue
                self._healthy, backoff = True, 1.0
                if self.auto_join:
                    await self._join_invites(client, resp)
                if not skip:
                    for item in self._messages(resp):
                        yield item
                skip = False
                self.since = resp.next_batch
        finally:
            self._healthy = False
            await client.close()
            self._client = None

    async def _connect(self) -> Any:
        config = nio.AsyncClientConfig(
            max_timeouts=1,
            request_timeout=self.sync_timeout + 20.0,
            store_sync_tokens=False,
        )
        client = nio.AsyncClient(
            self.homeserver, self.user_id, device_id=self.device_id or "", config=config
        )
        self._client = client
        if self._token:
            client.access_token = self._token
            client.user_id = self.user_id
            if self.device_id:
                client.device_id = self.device_id
            return client
        resp = await client.login(self._password, device_name="alliance-monitor")
        if not isinstance(resp, nio.LoginResponse):
            await client.close()
            raise MatrixLoginError("matrix login failed for the observer account")
        return client

    async def _join_invites(self, client: Any, resp: Any) -> None:
        for room_id in resp.rooms.invite:
            if self.conversations.conversation_of(room_id) is None:
                self.counts["invites_declined"] += 1
                continue
            joined = await client.join(room_id)
            ok = isinstance(joined, nio.JoinResponse)
            self.counts["rooms_joined" if ok else "join_failed"] += 1

    def _messages(self, resp: Any) -> Iterable[PullItem]:
        for room_id, room in resp.rooms.join.items():
            conversation = self.conversations.conversation_of(room_id)
            if conversation is None:
                self.counts["unmapped_room_events"] += len(room.timeline.events)
                continue
            if room.timeline.limited and self.since is not None:
                self.counts["timeline_gaps"] += 1
            for event in room.timeline.events:
                message = self._message(conversation, room_id, event)
                if message is not None:
                    yield message

    def _message(self, conversation: str, room_id: str, event: Any) -> Mapping[str, Any] | None:
        if isinstance(event, nio.MegolmEvent):
            self.counts["encrypted"] += 1
            return None
        if not isinstance(event, nio.RoomMessageText) or event.sender == self.user_id:
            return None
        content = event.source.get("content", {}) if isinstance(event.source, dict) else {}
        relates = content.get("m.relates_to")
        if isinstance(relates, dict) and relates.get("rel_type") == "m.replace":
            self.counts["edits_ignored"] += 1
            return None
        if event.event_id in self._seen:
            self.counts["duplicates"] += 1
            return None
        self._seen.add(event.event_id)
        role = self.roles.role_of(event.sender)
        return {
            "conversation_id": conversation,
            "id": event.event_id,
            "role": role.value,
            "text": event.body,
            "ts": event.server_timestamp / 1000.0,
            **self.roles.ids_for(role, event.sender),
            "metadata": {"platform": "matrix", "room_id": room_id},
        }
