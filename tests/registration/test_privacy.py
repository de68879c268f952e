"""Registrations never reach a feed, a public page, the public API, a report, an error
message or a log; staff of another library cannot read them; erasure leaves counts only."""

from __future__ import annotations

import datetime as dt
import logging

import httpx
import pytest

from outreach.models import Notice, Registration, RoleName
from outreach.registration import housekeeping
from tests import factories
from tests.registration.conftest import STARTS, Workshop, worker_for
from tests.registration.smtp import SmtpServer

NAME = "Zoja Skrivnostna"
EMAIL = "zoja.skrivnost@example.org"


async def test_nothing_personal_on_any_public_surface_in_errors_or_in_logs(
    workshop: Workshop,
    client: httpx.AsyncClient,
    smtp: SmtpServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # INFO, as a service runs: at DEBUG Tortoise logs every statement with its values.
    caplog.set_level(logging.INFO)
    event = workshop.event.id
    url = f"/api/events/{event}/registrations"
    start = STARTS[1].isoformat().replace("+00:00", "Z")
    registration = {
        "original_start": start,
        "name": NAME,
        "email": EMAIL,
        "party_size": 2,
        "consent": True,
    }
    assert (await client.post(url, json=registration)).status_code == 202
    refusals = [
        await client.post(url, json={**registration, "party_size": 9}),
        await client.post(url, json={**registration, "email": EMAIL + "@"}),
        await client.post(url, json={**registration, "original_start": "2027-03-29T08:00:00Z"}),
        await client.post(url, json=registration),
    ]
    smtp.mailbox.drop = 1
    worker = worker_for(smtp)
    await worker.run_once()
    await worker.run_once()
    await smtp.wait_for(2)
    other = await factories.make_library("kr")
    outsider = await factories.make_token_user("editor@kr.si", [(RoleName.EDITOR, other)])
    foreign = {"Authorization": f"Bearer {outsider}"}

    surfaces = [
        await client.get("/mkl/events"),
        await client.get(f"/mkl/events/{event}"),
        await client.get(f"/mkl/events/{event}/register"),
        await client.get("/feeds/mkl.ics"),
        await client.get("/api/events", params={"library": "mkl"}),
        await client.get(f"/api/events/{event}"),
        await client.get("/api/occurrences", params={"library": "mkl"}),
        await client.get(f"/api/events/{event}/attendance"),
        await client.get(url, params={"original_start": start}),
        await client.get(url, params={"original_start": start}, headers=foreign),
        await client.get("/api/outbox", params={"library": "mkl"}, headers=foreign),
    ]
    assert [r.status_code for r in surfaces[-3:]] == [401, 403, 403]
    for response in [*surfaces, *refusals]:
        for secret in (NAME, EMAIL, "Skrivnostna", "zoja.skrivnost"):
            assert secret not in response.text, response.request.url
    # The service's own records (the test SMTP server, aiosmtpd's "mail.log", is no part).
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != "mail.log")
    assert "notice" in logged  # the dropped connection was logged, by the notice's id
    assert EMAIL not in logged
    assert NAME not in logged

    # Staff of the library see it; after the kept days, nobody does, and counts stay.
    mine = await client.get(url, params={"original_start": start}, headers=workshop.auth())
    assert NAME in mine.text
    erased = await housekeeping.erase_due(STARTS[1] + dt.timedelta(days=31))
    assert erased == 1
    after = await client.get(url, params={"original_start": start}, headers=workshop.auth())
    assert NAME not in after.text
    assert after.json()["places"]["confirmed"] == 2
    row = await Registration.get()
    assert [row.name, row.email, row.secret] == [None, None, None]
    for notice in await Notice.all():
        assert [notice.recipient, notice.subject, notice.text, notice.html] == [None] * 4
