"""A real SMTP server for tests (aiosmtpd), on a free port of the loopback interface, that
keeps what it receives and can be told to misbehave."""

from __future__ import annotations

import asyncio
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller

from tests.servers import free_port


class Mailbox:
    """The server's handler: the messages accepted, in order."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        # How many of the next messages to lose by dropping the connection after DATA,
        # before the server's reply: the client cannot know whether it was accepted.
        self.drop = 0
        # Set while a message is being held (after DATA, before the reply).
        self.holding = threading.Event()
        self._hold: asyncio.Event | None = None
        self._held: asyncio.Event | None = None
        self._lock = threading.Lock()

    def hold_next(self) -> None:
        """Keep the next message's reply back until :meth:`release`."""
        self._hold = asyncio.Event()

    def release(self, loop: asyncio.AbstractEventLoop) -> None:
        held = self._held
        if held is not None:
            loop.call_soon_threadsafe(held.set)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self._hold is not None:
            self._held, self._hold = self._hold, None
            self.holding.set()
            await self._held.wait()
            server.transport.close()
            return "421 closing"
        if self.drop:
            self.drop -= 1
            server.transport.close()
            return "421 closing"
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self._lock:
            self.messages.append(parsed)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


class SmtpServer:
    """``with SmtpServer() as smtp:`` an SMTP server at ``smtp.port`` on 127.0.0.1."""

    def __init__(self) -> None:
        self.mailbox = Mailbox()
        self.port = free_port()
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        loop: asyncio.AbstractEventLoop = self.controller.loop
        return loop

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.controller.stop()

    async def wait_for(self, count: int, seconds: float = 10.0) -> list[EmailMessage]:
        """The messages once ``count`` have arrived (or fail after ``seconds``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while len(self.mailbox.messages) < count:
            if loop.time() > deadline:
                raise AssertionError(
                    f"{len(self.mailbox.messages)} of {count} messages arrived in {seconds} s"
                )
            await asyncio.sleep(0.02)
        return list(self.mailbox.messages)
