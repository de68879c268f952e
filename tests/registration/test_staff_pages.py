"""The staff pages of registration: a registration taken by phone, check-in on the day,
the rules, and the outbox where mail waits without an SMTP server; and the reminder."""

from __future__ import annotations

import datetime as dt
import re

import httpx

from outreach.models import Notice, Registration, RegistrationStatus, RoleName
from outreach.registration import housekeeping, service
from outreach.registration.schemas import RegistrationIn
from tests import factories
from tests.registration.conftest import BEFORE, STARTS, Workshop

PASSWORD = "correct horse battery"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


async def test_staff_take_a_phone_registration_and_read_the_outbox(
    workshop: Workshop, client: httpx.AsyncClient
) -> None:
    await factories.make_user("urednica@mkl.si", roles=[(RoleName.EDITOR, workshop.library)])
    login = await client.get("/staff/login")
    await client.post(
        "/staff/login",
        data={"email": "urednica@mkl.si", "password": PASSWORD, "csrf_token": csrf_of(login.text)},
    )
    page_url = f"/staff/events/{workshop.event.id}/registrations"
    start = STARTS[1].isoformat()
    page = await client.get(page_url, params={"original_start": start})
    assert page.status_code == 200
    assert "Prijavljen še ni nihče." in page.text  # the library's language
    phoned = await client.post(
        page_url,
        data={
            "csrf_token": csrf_of(page.text),
            "action": "phone",
            "original_start": start,
            "name": "Gospa Novak",
            "email": "novak@example.org",
            "party_size": "2",
        },
    )
    assert phoned.status_code == 303
    listed = await client.get(phoned.headers["location"])
    assert "Gospa Novak" in listed.text
    assert "Zasedenih 2 od 20 mest; čaka jih 0." in listed.text
    registration = await Registration.get()
    assert (registration.registered_by_staff, registration.status) == (
        True,
        RegistrationStatus.CONFIRMED,
    )
    outbox = await client.get("/staff/outbox", params={"library": "mkl"})
    assert outbox.status_code == 200
    assert "Strežnik SMTP ni nastavljen" in outbox.text
    assert "novak@example.org" in outbox.text
    notice = await Notice.get()
    assert notice.subject is not None
    assert notice.subject in outbox.text
    other = await factories.make_library("kr")
    await factories.make_user("tuja@kr.si", roles=[(RoleName.EDITOR, other)])
    async with httpx.AsyncClient(
        transport=client._transport, base_url=str(client.base_url)
    ) as stranger:
        login = await stranger.get("/staff/login")
        await stranger.post(
            "/staff/login",
            data={"email": "tuja@kr.si", "password": PASSWORD, "csrf_token": csrf_of(login.text)},
        )
        refused = await stranger.get("/staff/outbox", params={"library": "mkl"})
    assert refused.status_code == 403
    assert "novak@example.org" not in refused.text


async def test_a_reminder_is_written_once_the_day_before(workshop: Workshop) -> None:
    data = RegistrationIn.model_validate(
        {
            "original_start": STARTS[1].isoformat(),
            "name": "Ana",
            "email": "ana@example.org",
            "consent": True,
        }
    )
    await service.register(workshop.event.id, data, language="fi", now=BEFORE)
    two_days_before = STARTS[1] - dt.timedelta(hours=48)
    day_before = STARTS[1] - dt.timedelta(hours=20)
    assert await housekeeping.send_reminders(two_days_before) == 0
    assert await housekeeping.send_reminders(day_before) == 1
    assert await housekeeping.send_reminders(day_before + dt.timedelta(hours=1)) == 0
    reminder = await Notice.get(template="registration_reminder")
    assert reminder.subject == (
        "Muistutus: Delavnica robotike, sunnuntai 28. maaliskuuta 2027, 10.00–11.30"
    )
