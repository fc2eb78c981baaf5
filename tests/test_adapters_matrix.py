"""Matrix adapter against a real Synapse homeserver (SQLite) on loopback.

Synapse is installed from PyPI into its own virtualenv under ``.services/synapse-venv`` (its
dependencies must not mix with ours) the first time this module runs; set
ALLIANCE_MONITOR_SYNAPSE_PYTHON to use another installation. Without Synapse the tests skip
locally and fail under CI (CI=true), so a missing install step cannot hide behind a green run.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from alliance_monitor import Monitor
from alliance_monitor.adapters import ConversationMap, pump
from alliance_monitor.testing import StaticScorer

nio = pytest.importorskip("nio", reason="matrix-nio (the [matrix] extra) is not installed")
from alliance_monitor.adapters.matrix import MatrixAdapter  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
VENV = REPO / ".services" / "synapse-venv"

HS_CONFIG = """\
server_name: "localhost"
pid_file: {dir}/homeserver.pid
listeners:
  - port: {port}
    bind_addresses: ['127.0.0.1']
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: {dir}/homeserver.db
media_store_path: {dir}/media_store
enable_registration: true
enable_registration_without_verification: true
report_stats: false
macaroon_secret_key: "test-macaroon-{nonce}"
form_secret: "test-form-{nonce}"
signing_key_path: "{dir}/localhost.signing.key"
trusted_key_servers: []
suppress_key_server_warning: true
federation_domain_whitelist: []
rc_message: {{per_second: 1000, burst_count: 1000}}
rc_registration: {{per_second: 1000, burst_count: 1000}}
rc_login:
  address: {{per_second: 1000, burst_count: 1000}}
  account: {{per_second: 1000, burst_count: 1000}}
  failed_attempts: {{per_second: 1000, burst_count: 1000}}
rc_joins:
  local: {{per_second: 1000, burst_count: 1000}}
"""


def _unavailable(why: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"Synapse is needed in CI: {why}")
    pytest.skip(f"no Synapse homeserver: {why}")


def _synapse_python() -> str:
    configured = os.environ.get("ALLIANCE_MONITOR_SYNAPSE_PYTHON")
    if configured:
        return configured
    python = VENV / "bin" / "python"
    if not python.exists():
        base = shutil.which("python3") or sys.executable
        try:
            subprocess.run([base, "-m", "venv", str(VENV)], check=True, capture_output=True)
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", "matrix-synapse"],
                check=True,
                capture_output=True,
                timeout=600,
            )
        except (subprocess.SubprocessError, OSError) as exc:
            shutil.rmtree(VENV, ignore_errors=True)
            _unavailable(f"installing matrix-synapse failed ({type(exc).__name__})")
    return str(python)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def homeserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    python = _synapse_python()
    d = tmp_path_factory.mktemp("synapse")
    port = _free_port()
    cfg = d / "homeserver.yaml"
    cfg.write_text(HS_CONFIG.format(dir=d, port=port, nonce=uuid.uuid4().hex))
    cmd = [python, "-m", "synapse.app.homeserver", "-c", str(cfg)]
    subprocess.run([*cmd, "--generate-keys"], check=True, capture_output=True, timeout=120)
    log = (d / "synapse.out").open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/_matrix/client/versions", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                _unavailable("the homeserver did not start")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


class Hs:
    """Just enough of the client-server API to play the counselor and the client."""

    def __init__(self, base: str, client: httpx.AsyncClient) -> None:
        self.base, self.http = base, client

    async def register(self, name: str) -> tuple[str, str]:
        r = await self.http.post(
            self.base + "/_matrix/client/v3/register",
            json={"username": name, "password": "pw-" + name, "auth": {"type": "m.login.dummy"}},
        )
        r.raise_for_status()
        return r.json()["user_id"], r.json()["access_token"]

    async def call(self, method: str, path: str, token: str, body: Any = None) -> Any:
        r = await self.http.request(
            method,
            self.base + "/_matrix/client/v3" + path,
            json=body,
            headers={"authorization": f"Bearer {token}"},
        )
        r.raise_for_status()
        return r.json()

    async def room(self, token: str, invite: list[str]) -> str:
        out = await self.call(
            "POST", "/createRoom", token, {"preset": "private_chat", "invite": invite}
        )
        return str(out["room_id"])

    async def say(self, token: str, room: str, text: str, **content: Any) -> str:
        body = {"msgtype": "m.text", "body": text, **content}
        out = await self.call(
            "PUT", f"/rooms/{room}/send/m.room.message/{uuid.uuid4().hex}", token, body
        )
        return str(out["event_id"])


async def _until(pred: Any, limit: float = 20.0) -> None:
    with anyio.fail_after(limit):
        while not pred():
            await anyio.sleep(0.05)


def test_sync_loop_against_a_real_homeserver(homeserver: str) -> None:
    async def main() -> None:
        tag = uuid.uuid4().hex[:6]
        async with httpx.AsyncClient(timeout=10) as http:
            hs = Hs(homeserver, http)
            counselor, c_tok = await hs.register(f"dr_lee_{tag}")
            client, k_tok = await hs.register(f"client_{tag}")
            observer, o_tok = await hs.register(f"monitor_{tag}")
            room = await hs.room(c_tok, [client, observer])
            other = await hs.room(c_tok, [observer])  # not a pair: its invite is declined
            await hs.call("POST", f"/rooms/{room}/join", k_tok, {})
            early = await hs.say(c_tok, room, "Welcome. This room is for our sessions.")

            adapter = MatrixAdapter(
                homeserver,
                observer,
                access_token=o_tok,
                counselors={counselor},
                conversations=ConversationMap({room: "pair-m1"}, only_mapped=True),
                sync_timeout=1.0,
            )
            got: list[Any] = []
            async with aclosing(adapter.__aiter__()) as it, anyio.create_task_group() as tg:

                async def read() -> None:
                    async for item in it:
                        got.append(item)

                tg.start_soon(read)
                await _until(lambda: adapter.counts["rooms_joined"] == 1)
                assert adapter.counts["invites_declined"] >= 1 and adapter.healthy
                first = await hs.say(c_tok, room, "What would you like to work on today?")
                await hs.say(k_tok, room, "I keep putting things off.")
                await hs.say(
                    c_tok,
                    room,
                    "* edited",
                    **{
                        "m.new_content": {"msgtype": "m.text", "body": "edited"},
                        "m.relates_to": {"rel_type": "m.replace", "event_id": first},
                    },
                )
                await hs.call(
                    "PUT",
                    f"/rooms/{room}/send/m.room.message/{uuid.uuid4().hex}",
                    c_tok,
                    {"msgtype": "m.notice", "body": "bot notice"},
                )
                await hs.say(c_tok, other, "a room that is no pair")
                await _until(lambda: len(got) >= 3)
                await anyio.sleep(1.5)  # one more sync: nothing else may arrive
                tg.cancel_scope.cancel()

            # On joining, the history the observer may see comes too (the welcome), in order.
            assert [(m["role"], m["conversation_id"]) for m in got] == [
                ("counselor", "pair-m1"),
                ("counselor", "pair-m1"),
                ("client", "pair-m1"),
            ]
            assert [m["id"] for m in got[:2]] == [early, first]
            assert got[1]["counselor_id"] == counselor
            assert got[2]["client_id"] == client and got[2]["ts"] > 1.6e9
            assert adapter.counts["edits_ignored"] == 1
            assert adapter.since

            # Resume from the saved sync token: only what was said since reaches the monitor.
            await hs.say(k_tok, room, "Mostly work emails.")
            resumed = MatrixAdapter(
                homeserver,
                observer,
                access_token=o_tok,
                counselors={counselor},
                conversations=ConversationMap({room: "pair-m1"}, only_mapped=True),
                since=adapter.since,
                sync_timeout=1.0,
            )
            monitor = Monitor(scorer=StaticScorer(), idle_check_interval=None)
            async with monitor, anyio.create_task_group() as tg:
                tg.start_soon(pump, resumed, monitor)
                await _until(lambda: monitor.stats().get("accepted", 0) >= 1)
                await anyio.sleep(1.5)
                await resumed.aclose()
                tg.cancel_scope.cancel()
            assert monitor.stats()["accepted"] == 1
            pair = monitor.core.get_pair("pair-m1")
            assert pair is not None and pair.client_id == client

    anyio.run(main)


def test_unreachable_homeserver_is_unhealthy_and_retried() -> None:
    async def main() -> None:
        port = _free_port()
        adapter = MatrixAdapter(
            f"http://127.0.0.1:{port}",
            "@m:localhost",
            access_token="t",
            sync_timeout=0.2,
            max_backoff=0.2,
        )
        async with aclosing(adapter.__aiter__()) as it, anyio.create_task_group() as tg:

            async def read() -> None:
                async for _ in it:
                    pass

            tg.start_soon(read)
            await _until(lambda: adapter.counts["sync_failures"] >= 2, limit=20)
            assert not adapter.healthy
            tg.cancel_scope.cancel()

    anyio.run(main)


def test_login_with_a_wrong_password_fails_without_leaking_it(homeserver: str) -> None:
    from alliance_monitor.adapters.matrix import MatrixLoginError

    async def main() -> None:
        adapter = MatrixAdapter(homeserver, "@nobody:localhost", password="hunter2-secret")
        with pytest.raises(MatrixLoginError) as info:
            async for _ in adapter:
                pass
        assert "hunter2" not in str(info.value)

    anyio.run(main)
