"""Shared set-up for registration tests: a library with a room, a published weekly event
that takes registrations, a real SMTP server, and the outbox worker pointed at it."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
import pytest_asyncio

from outreach.mail.delivery import OutboxWorker, Policy
from outreach.models import (
    Event,
    Library,
    Occurrence,
    Registration,
    RegistrationPolicy,
    RoleName,
    Room,
)
from outreach.registration import config, service
from outreach.scheduling.service import create_event
from outreach.settings import MailSettings, Settings
from tests import factories
from tests.registration.smtp import SmtpServer

ZONE = "Europe/Ljubljana"
# Sundays at 10:00 in Ljubljana; the second is the day clocks go forward (28 March 2027).
FIRST = "2027-03-21T10:00:00"
STARTS = [
    dt.datetime(2027, 3, 21, 9, tzinfo=dt.UTC),
    dt.datetime(2027, 3, 28, 8, tzinfo=dt.UTC),
    dt.datetime(2027, 4, 4, 8, tzinfo=dt.UTC),
]
# A week before the first date: registration is open.
BEFORE = dt.datetime(2027, 3, 14, 12, tzinfo=dt.UTC)


@dataclass
class Workshop:
    library: Library
    room: Room
    event: Event
    policy: RegistrationPolicy
    tokens: dict[str, str]

    def auth(self, who: str = "editor") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    async def occurrences(self) -> list[Occurrence]:
        return await Occurrence.filter(event_id=self.event.id).order_by("original_start")


@pytest.fixture(autouse=True)
def registration_config(settings: Settings) -> None:
    """Links signed with the test's key and pointing at its address."""
    config.configure(settings)


def held(outcome: service.Outcome) -> Registration:
    """The registration an outcome wrote (a test that expects one)."""
    assert outcome.registration is not None
    return outcome.registration


@pytest_asyncio.fixture
async def workshop(db: str) -> AsyncIterator[Workshop]:
    library = await factories.make_library("mkl", language="sl", languages=["sl", "en"])
    branch = await factories.make_branch(library, "center")
    room = await factories.make_room(branch, "hall", capacity=30)
    result = await create_event(
        library,
        {
            "kind": "workshop",
            "title": {"sl": "Delavnica robotike", "en": "Robotics workshop"},
            "start": FIRST,
            "end": "2027-03-21T11:30:00",
            "rrule": "FREQ=WEEKLY;COUNT=3",
            "branch": "center",
            "room": room.id,
            "capacity": 20,
            "status": "published",
        },
        user=None,
    )
    policy = await RegistrationPolicy.create(
        event=result.event, max_party=4, updated_at=dt.datetime.now(dt.UTC)
    )
    editor = await factories.make_token_user("editor@mkl.si", [(RoleName.EDITOR, library)])
    yield Workshop(library, room, result.event, policy, {"editor": editor})


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


def worker_for(server: SmtpServer, **policy: object) -> OutboxWorker:
    mail = MailSettings(
        smtp_host="127.0.0.1",
        smtp_port=server.port,
        smtp_security="none",
        sender="Mestna knjižnica <noreply@mkl.si>",
    )
    defaults: dict[str, object] = {"backoff": dt.timedelta(0), "poll": 0.05, "timeout": 5.0}
    return OutboxWorker(mail, Policy(**{**defaults, **policy}))  # type: ignore[arg-type]
