"""A SQLite state file is opened by one process, only when it is a store, in a folder that takes
writes; a store that fails commits makes the monitor not ready until it recovers."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import pytest
from helpers import msg

from alliance_monitor import ConfigError, Monitor, StoreError, StoreFenced, StoreLocked
from alliance_monitor.adapters import PullAdapter, PullItem, pump
from alliance_monitor.store import SQLiteStore, StoreBatch
from alliance_monitor.testing import StaticScorer


async def _open_close(path: Path) -> None:
    store = SQLiteStore(path)
    await store.open()
    await store.aclose()


# ---------------------------------------------------------------------- what the file holds
@pytest.mark.anyio
async def test_an_existing_empty_file_is_refused_a_new_one_initialised(tmp_path: Path) -> None:
    empty = tmp_path / "state.db"
    empty.write_bytes(b"")
    with pytest.raises(ConfigError, match=r"state\.db is an empty file, not a store"):
        await _open_close(empty)
    assert empty.stat().st_size == 0  # left as it was
    fresh = tmp_path / "new.db"
    await _open_close(fresh)  # created here: initialised
    await _open_close(fresh)  # and a store from now on
    assert fresh.stat().st_size > 0


@pytest.mark.anyio
async def test_a_file_that_is_no_database_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "state.db"
    bad.write_bytes(b"not a database, just some bytes\n" * 200)
    with pytest.raises(ConfigError, match=r"state\.db is not an SQLite database"):
        await _open_close(bad)
    assert bad.read_bytes().startswith(b"not a database")


@pytest.mark.anyio
async def test_another_programs_database_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "app.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE users (name TEXT)")
    with pytest.raises(ConfigError, match=r"app\.db is an SQLite database of another program"):
        await _open_close(other)


@pytest.mark.anyio
async def test_a_store_written_before_the_application_id_still_opens(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    async with Monitor(scorer=StaticScorer(), store=SQLiteStore(path)) as m:
        await m.ingest(msg("c", 0, "counselor"))
    with sqlite3.connect(path) as db:  # as an earlier version left it
        db.execute("PRAGMA application_id=0")
        db.execute("DROP TABLE meta")
    async with Monitor(scorer=StaticScorer(), store=SQLiteStore(path)) as m:
        assert (await m.ingest(msg("c", 0, "counselor"))).status == "duplicate"


@contextmanager
def read_only_folder(folder: Path) -> Iterator[None]:
    """A folder this process cannot write to: mode 0555, or, for root (whom modes do not stop),
    the immutable attribute."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    r = subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
    if r.returncode != 0:
        pytest.skip("running as root and chattr +i is not permitted here")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


@pytest.mark.anyio
async def test_a_folder_that_takes_no_writes_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    path = folder / "state.db"
    await _open_close(path)  # an existing store, then the folder turns read-only
    with read_only_folder(folder):
        with pytest.raises(ConfigError, match=r"store's folder .*state is not writable"):
            await _open_close(path)
        with pytest.raises(ConfigError, match="not writable"):
            await _open_close(folder / "fresh.db")


# ---------------------------------------------------------------------- one writer
@pytest.mark.anyio
async def test_a_second_open_of_one_file_fails_naming_file_and_pid(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    first = SQLiteStore(path)
    await first.open()
    try:
        with pytest.raises(StoreLocked, match=r"state\.db is in use by another process") as info:
            await _open_close(path)
        assert info.value.pid == os.getpid()
        assert f"pid {os.getpid()}" in str(info.value)
    finally:
        await first.aclose()
    await _open_close(path)  # released on close


HOLD = textwrap.dedent(
    """
    import sys, time, anyio
    from alliance_monitor.store import SQLiteStore

    async def main():
        store = SQLiteStore(sys.argv[1])
        await store.open()
        print("open", flush=True)
        time.sleep(600)

    anyio.run(main)
    """
)


def test_a_second_process_fails_fast_and_a_killed_holder_frees_the_file(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        started = time.monotonic()
        with pytest.raises(StoreLocked) as info:
            anyio.run(_open_close, path)
        assert time.monotonic() - started < 5  # fails fast: no waiting on SQLite's lock
        assert info.value.pid == holder.pid
        assert f"pid {holder.pid}" in str(info.value) and str(path) in str(info.value)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        holder.stdout.close()
    anyio.run(_open_close, path)  # the kernel dropped the dead holder's lock


# ---------------------------------------------------------------------- failing commits
class SwitchableStore(SQLiteStore):
    """A SQLite store whose writes fail (as on a full disk) while `broken` is set."""

    broken: BaseException | None = None

    async def commit(self, batch: StoreBatch) -> None:
        if self.broken is not None:
            raise self.broken
        await super().commit(batch)

    async def probe(self) -> None:
        if self.broken is not None:
            raise self.broken
        await super().probe()


@pytest.mark.anyio
async def test_failing_commits_make_the_monitor_not_ready_until_the_store_is_back(
    tmp_path: Path,
) -> None:
    store = SwitchableStore(tmp_path / "s.db")
    async with Monitor(scorer=StaticScorer(), store=store, idle_check_interval=None) as m:
        await m.ingest(msg("c", 0, "counselor"))
        assert m.readiness() == {}
        store.broken = OSError(28, "No space left on device")
        with pytest.raises(StoreError):
            await m.ingest(msg("c", 1, "client"))
        assert m.readiness() == {"store": "OSError"}
        assert m.health() == {}  # not a dead task: it may recover without a restart
        await anyio.sleep(1.5)
        assert m.readiness() == {"store": "OSError"}  # probed, still failing
        store.broken = None
        with anyio.fail_after(5):  # the probe finds the store back without any new message
            while m.readiness():
                await anyio.sleep(0.05)
        assert (await m.ingest(msg("c", 1, "client"))).status == "accepted"


@pytest.mark.anyio
async def test_a_refused_lease_stays_recognisable(tmp_path: Path) -> None:
    store = SwitchableStore(tmp_path / "s.db")
    async with Monitor(scorer=StaticScorer(), store=store, idle_check_interval=None) as m:
        store.broken = StoreFenced("lease lost: batch refused")
        with pytest.raises(StoreFenced):
            await m.ingest(msg("c", 0, "counselor"))
        assert m.readiness() == {}  # a lost lease is no store fault


class _Listed(PullAdapter):
    name = "listed"

    def __init__(self, items: list[dict[str, object]]) -> None:
        self.items = items

    async def __aiter__(self) -> AsyncIterator[PullItem]:
        for item in self.items:
            yield item


class _FailsFirst(SQLiteStore):
    """Journal writes fail the first `n` times (a full disk, then room again)."""

    left = 3

    async def commit(self, batch: StoreBatch) -> None:
        if batch.journal and self.left > 0:
            self.left -= 1
            raise OSError(28, "No space left on device")
        await super().commit(batch)


@pytest.mark.anyio
async def test_a_pull_source_is_not_read_past_a_message_that_was_not_stored(
    tmp_path: Path,
) -> None:
    store = _FailsFirst(tmp_path / "s.db")
    items = [msg("c", i, "counselor" if i % 2 == 0 else "client") for i in range(5)]
    async with Monitor(scorer=StaticScorer(), store=store, idle_check_interval=None) as m:
        counts = await pump(_Listed(items), m)
    assert counts["accepted"] == 5 and counts["store_retries"] == 3
    assert "ingest_failed" not in counts


def test_one_process_per_alert_outbox(tmp_path: Path) -> None:
    from alliance_monitor.alerts._outbox import Outbox

    first = Outbox(str(tmp_path / "outbox.db"))
    try:
        with pytest.raises(StoreLocked, match=r"alert outbox .*outbox\.db is in use"):
            Outbox(str(tmp_path / "outbox.db"))
    finally:
        first.close()
    Outbox(str(tmp_path / "outbox.db")).close()  # free again once closed
