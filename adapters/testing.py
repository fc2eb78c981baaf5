"""Test helpers for integrations: run an ASGI app on a real loopback socket.

    with serve_in_thread(with_lifespan(receiver, monitor, receiver)) as base_url:
        httpx.post(base_url + "/", content=body, headers=signed_headers)

Needs uvicorn (``pip install "alliance-monitor[serve]"``).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from ._receiver import ASGIApp

__all__ = ["serve_in_thread"]


@contextmanager
def serve_in_thread(
    app: ASGIApp, *, host: str = "127.0.0.1", startup_timeout: float = 10.0
) -> Iterator[str]:
    """Serve `app` with uvicorn on a free port of `host` in a thread; yield its base URL.

    The app's lifespan runs in the server thread's event loop, so resources entered there (a
    monitor, a receiver) live in that loop. On exit the server shuts down gracefully.
    """
    try:
        import uvicorn
    except ImportError:  # pragma: no cover
        raise ImportError("serve_in_thread needs uvicorn: pip install uvicorn") from None
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        interface="asgi3",
        lifespan="on",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
