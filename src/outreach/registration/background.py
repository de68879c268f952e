"""The work an app process does besides answering: delivering the outbox (when an SMTP
server is configured), the registration sweep (reminders, erasure) and the erasure of room
requests' personal data, until the process stops. Started and stopped by the app's
lifespan."""

from __future__ import annotations

import asyncio
import contextlib

from outreach.mail.delivery import OutboxWorker
from outreach.registration import housekeeping
from outreach.rooms.requests import keep_erasing
from outreach.settings import Settings


class Background:
    """The process's background tasks."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stop_event = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        if self.settings.mail.smtp_host is not None:
            worker = OutboxWorker(self.settings.mail)
            self.tasks.append(asyncio.create_task(worker.run(self.stop_event)))
        self.tasks.append(asyncio.create_task(housekeeping.run(self.stop_event)))
        erase_days = self.settings.room_request_erase_days
        self.tasks.append(asyncio.create_task(keep_erasing(self.stop_event, erase_days)))

    async def stop(self) -> None:
        """Let each task finish what it is doing, then cancel what still waits."""
        self.stop_event.set()
        done, pending = await asyncio.wait(self.tasks, timeout=5) if self.tasks else (set(), set())
        for task in pending:
            task.cancel()
        for task in [*done, *pending]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.tasks = []
