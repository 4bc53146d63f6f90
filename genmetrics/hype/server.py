"""Run the web app: in the foreground (``genmetrics hype serve``) or in a thread (tests, notebooks)."""
from __future__ import annotations

import importlib
import threading
import time
from contextlib import contextmanager

from ..errors import GenmetricsError

EXTRA = "pip install 'genmetrics[hype]'"
LOOPBACK = "127.0.0.1"  # bind to this machine only unless told otherwise (issue 13, security)
PORT = 8000  # the conventional development HTTP port; any free port works (--port)


def _uvicorn():
    try:
        importlib.import_module("starlette")
        import uvicorn
    except ImportError:
        raise GenmetricsError(f"the HYPE web app needs the hype extra (starlette, uvicorn): {EXTRA}") from None
    return uvicorn


def _config(study, host: str, port: int):
    uvicorn = _uvicorn()
    from .app import make_app
    # h11: pure-Python HTTP; no access log (it would print every rater's token); proxy headers off.
    return uvicorn.Config(make_app(study), host=host, port=port, log_level="warning", access_log=False,
                          http="h11", ws="none", lifespan="off", proxy_headers=False, server_header=False)


def serve(study, host: str = LOOPBACK, port: int = PORT) -> None:
    """Serve the study until Ctrl-C. Every answer is already on disk; stopping loses nothing."""
    _uvicorn().Server(_config(study, host, port)).run()


@contextmanager
def background_server(study, host: str = LOOPBACK, port: int = 0):
    """Serve the study in a thread; yields its base URL (port 0 picks a free port); stops it on exit."""
    server = _uvicorn().Server(_config(study, host, port))
    thread = threading.Thread(target=server.run, name="hype-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the HYPE server did not start")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()
    try:
        yield f"http://{bound[0]}:{bound[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
