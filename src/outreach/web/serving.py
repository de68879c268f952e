"""Production serving: one worker process per core under granian (by default) or uvicorn,
both on uvloop, and an access log that costs a few microseconds per request.

granian is the default: under it every goal ``bench/feeds.py`` prints held, with one
worker and with two, on SQLite and PostgreSQL (the figures are in issue 17's closing
note). The bench also measures the 304 under uvicorn (uvloop, httptools), which stays a
choice (``--server uvicorn``): on an otherwise idle 2-core machine uvicorn spent less CPU
per 304 (26-36 us against granian's 31-58 us) and with two workers answered more of them
(35-50 thousand a second against 26-37), while on a machine loaded with other programs
granian had spent less (100-135 us against 145-165 us) and answered twice as many. The
access log costs the same microseconds under either, a larger share of uvicorn's cheaper
304; which server should be the default is worth measuring again on the machines
libraries run.

uvicorn's own access log formats each line through :mod:`logging` (records, handlers, a
lock and a write per request): about a tenth of what a 304 costs. ``outreach serve``
turns it off and installs :class:`AccessLog` instead, which appends one preformatted line
per request to a list and writes the list out in one call every second (or every 1,000
lines), so a line reaches the log within a second of its request.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import IO, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Where the access log goes ("-": standard error; "": none); set by ``outreach serve`` for
# its workers, which read it in :func:`create_served_app`.
ACCESS_LOG_ENV = "OUTREACH_ACCESS_LOG"
FLUSH_SECONDS = 1.0
FLUSH_LINES = 1000
PRIVATE_FEEDS = "/staff/calendar/"
WORKER_HEALTHCHECK_SECONDS = 60


class AccessLog:
    """ASGI middleware: ``client - method path?query status bytes seconds`` per request,
    buffered and written in batches."""

    def __init__(self, app: ASGIApp, *, stream: IO[str]) -> None:
        self.app = app
        self.stream = stream
        self._lines: list[str] = []
        self._flusher: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._flushing(send))
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 0
        size = 0

        async def sending(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            client = scope.get("client")
            query = scope.get("query_string", b"")
            path = scope["path"]
            # A private feed's address is its secret: the log keeps only that one was asked.
            if path.startswith(PRIVATE_FEEDS):
                path = PRIVATE_FEEDS + "[secret].ics"
            target = path + ("?" + query.decode("latin-1") if query else "")
            self._lines.append(
                f"{client[0] if client else '-'} - {scope['method']} {target} {status} {size}"
                f" {time.perf_counter() - began:.6f}\n"
            )
            if len(self._lines) >= FLUSH_LINES:
                self.flush()
            elif self._flusher is None:
                self._flusher = asyncio.get_running_loop().create_task(self._flush_soon())

    def _flushing(self, send: Send) -> Send:
        """``send`` for the lifespan: the last lines are written before the worker stops."""

        async def sending(message: Message) -> None:
            if message["type"].startswith("lifespan.shutdown."):
                self.flush()
            await send(message)

        return sending

    async def _flush_soon(self) -> None:
        try:
            await asyncio.sleep(FLUSH_SECONDS)
        finally:
            self._flusher = None
            self.flush()

    def flush(self) -> None:
        lines, self._lines = self._lines, []
        if lines:
            self.stream.write("".join(lines))
            self.stream.flush()


def create_served_app() -> ASGIApp:
    """The app as ``outreach serve`` runs it in each worker: with :class:`AccessLog` when
    :data:`ACCESS_LOG_ENV` names a destination."""
    from outreach.app import create_app

    app: ASGIApp = create_app()
    where = os.environ.get(ACCESS_LOG_ENV, "-")
    if where == "":
        return app
    stream: IO[str] = sys.stderr if where == "-" else open(where, "a", encoding="utf-8")  # noqa: SIM115
    return AccessLog(app, stream=stream)


SERVERS = ("granian", "uvicorn")
DEFAULT_SERVER = "granian"


def serve(
    *, host: str, port: int, workers: int, access_log: str, server: str = DEFAULT_SERVER
) -> None:
    """Run granian or uvicorn (uvloop; httptools for uvicorn) with ``workers`` processes;
    ``access_log`` is a file, ``-`` for standard error or ``""`` for none."""
    os.environ[ACCESS_LOG_ENV] = access_log
    if server == "granian":
        _serve_granian(host=host, port=port, workers=workers)
    elif server == "uvicorn":
        _serve_uvicorn(host=host, port=port, workers=workers)
    else:
        raise ValueError(f"server: {server!r} is none of {', '.join(SERVERS)}")


def _serve_granian(*, host: str, port: int, workers: int) -> None:
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces, Loops

    Granian(
        "outreach.web.serving:create_served_app",
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        loop=Loops.uvloop,
        http=HTTPModes.http1,
        websockets=False,
        factory=True,
        # granian rewrites nothing from X-Forwarded-*: the app reads those itself, from
        # the proxies OUTREACH_TRUSTED_PROXIES names (outreach.web.links). Its own access
        # log is off; AccessLog writes ours.
        log_access=False,
        # A worker that dies (out of memory, a crash in a C library) is started again.
        respawn_failed_workers=True,
    ).serve()


def _serve_uvicorn(*, host: str, port: int, workers: int) -> None:
    import uvicorn

    options: dict[str, Any] = {
        "factory": True,
        "host": host,
        "port": port,
        "workers": workers,
        "loop": "uvloop",
        "http": "httptools",
        # The app reads X-Forwarded-* itself, from the proxies OUTREACH_TRUSTED_PROXIES
        # names (outreach.web.links); uvicorn's own rewriting would hide the proxy's
        # address that this trust is decided by.
        "proxy_headers": False,
        "access_log": False,
        "log_level": "info",
        # uvicorn kills and restarts a worker that does not answer its supervisor's ping
        # within this many seconds (5 by default). A worker answers only once its
        # interpreter is up, and on a busy machine starting one took over 10 s: with 5 s,
        # every worker was killed while starting, and its replacement too, forever.
        "timeout_worker_healthcheck": WORKER_HEALTHCHECK_SECONDS,
    }
    uvicorn.run("outreach.web.serving:create_served_app", **options)
