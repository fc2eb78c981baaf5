"""An in-memory queue adapter: for tests, and for backends that hand messages over themselves.

    queue = MemoryAdapter(maxsize=1000)
    async with monitor, anyio.create_task_group() as tg:
        tg.start_soon(pump, queue, monitor)
        await queue.put({"conversation_id": "pair-1", "id": "m1", ...})   # waits when full
        queue.close()                                                    # pump ends when drained

`put` waits while the queue is full (backpressure for a producer that can wait);
`put_nowait` returns False instead (for a request handler that should answer 503).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio

from ._base import PullAdapter, PullItem

__all__ = ["MemoryAdapter"]


class MemoryAdapter(PullAdapter):
    """A bounded in-memory queue of messages, iterated in the order they were put."""

    name = "memory"

    def __init__(self, maxsize: int = 1024) -> None:
        self.maxsize = max(1, maxsize)
        self._send, self._recv = anyio.create_memory_object_stream[PullItem](self.maxsize)

    async def put(self, message: PullItem) -> None:
        """Queue a message (waits while the queue is full)."""
        await self._send.send(message)

    def put_nowait(self, message: PullItem) -> bool:
        """Queue a message if there is room; False if the queue is full."""
        try:
            self._send.send_nowait(message)
        except anyio.WouldBlock:
            return False
        return True

    def close(self) -> None:
        """No more messages: iteration ends once the queued ones are taken."""
        self._send.close()

    @property
    def depth(self) -> int:
        return self._send.statistics().current_buffer_used

    async def __aiter__(self) -> AsyncIterator[PullItem]:
        async with self._recv:
            async for item in self._recv:
                yield item

    async def aclose(self) -> None:
        self._send.close()
