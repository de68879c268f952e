"""Limits on how a request arrives: its body within a time limit (408 otherwise), and how
often one client may send a public form (:class:`RateLimit`)."""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTimedOut(Exception):
    """The request body did not arrive in time (raised from ``receive``)."""


class BodyTimeout:
    """ASGI middleware: the whole request body must arrive within ``seconds`` of the
    request's start, else the request is answered 408 and the connection closed.

    A client that sends its headers and then stalls (or trickles its body) would
    otherwise hold the request, and whatever the endpoint had taken for it, for ever.
    Only the body is timed: once its last part has come, ``receive`` waits as long as the
    application likes (a streamed response listens on it for the client going away).
    """

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.seconds
        complete = False
        started = False

        async def timed_receive() -> Message:
            nonlocal complete
            if complete:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(deadline - loop.time(), 0))
            except TimeoutError:
                raise BodyTimedOut from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                complete = True
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, timed_receive, tracked_send)
        except BodyTimedOut:
            if started:
                raise
            response = JSONResponse(
                {
                    "error": "request timeout",
                    "fields": {"body": f"did not arrive within {self.seconds:g} seconds"},
                },
                status_code=408,
                headers={"Connection": "close"},
            )
            await response(scope, receive, send)


class RateLimit:
    """At most ``count`` requests per ``seconds`` from one client address (a sliding
    window), counted in this process: behind several processes a client may get up to that
    many times as many, which still stops a form being flooded from one address."""

    def __init__(
        self,
        count: int,
        seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        self.count = count
        self.seconds = seconds
        self.clock = clock
        self.max_clients = max_clients
        self._seen: dict[str, deque[float]] = {}

    def allow(self, client: str) -> bool:
        """Count a request from ``client``; False when it is one too many."""
        now = self.clock()
        if len(self._seen) >= self.max_clients:
            # Keep memory bounded: forget the clients whose window has passed.
            self._seen = {k: v for k, v in self._seen.items() if v and now - v[-1] < self.seconds}
        times = self._seen.setdefault(client, deque())
        while times and now - times[0] >= self.seconds:
            times.popleft()
        if len(times) >= self.count:
            return False
        times.append(now)
        return True

    def retry_after(self, client: str) -> int:
        """Whole seconds until ``client`` may send again."""
        times = self._seen.get(client)
        if not times:
            return 0
        return max(1, math.ceil(self.seconds - (self.clock() - times[0])))
