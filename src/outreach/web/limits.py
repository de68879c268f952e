"""Limits on how a request arrives: its body within a time limit (408 otherwise)."""

from __future__ import annotations

import asyncio

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
