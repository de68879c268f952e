"""The outbox worker against a real SMTP server (aiosmtpd): what arrives, and that a
delivery cut short loses nothing and duplicates nothing."""

from __future__ import annotations

import asyncio
import datetime as dt

from icalendar import Calendar
from tortoise.connection import get_connection
from tortoise.transactions import in_transaction

from outreach.mail.outbox import Attachment, enqueue
from outreach.models import Notice, NoticeStatus, RegistrationStatus
from outreach.registration import service
from outreach.registration.schemas import RegistrationIn
from tests.registration.conftest import BEFORE, STARTS, Workshop, worker_for
from tests.registration.smtp import SmtpServer


def patron(email: str, **extra: object) -> RegistrationIn:
    return RegistrationIn.model_validate(
        {
            "original_start": STARTS[1].isoformat(),
            "name": "Ana",
            "email": email,
            "party_size": 2,
            "consent": True,
            **extra,
        }
    )


async def test_a_confirmation_arrives_in_the_patrons_language_with_the_occurrence(
    workshop: Workshop, smtp: SmtpServer
) -> None:
    await service.register(workshop.event.id, patron("ana@example.org"), language="sl", now=BEFORE)
    worker = worker_for(smtp)

    assert await worker.run_once() == 1

    [message] = await smtp.wait_for(1)
    assert smtp.mailbox.envelopes == [("noreply@mkl.si", ["ana@example.org"])]
    assert message["To"] == "ana@example.org"
    assert message["From"] == "Mestna knjižnica <noreply@mkl.si>"
    assert message["Content-Language"] == "sl"
    assert message["Auto-Submitted"] == "auto-generated"
    notice = await Notice.get()
    assert message["Message-ID"] == f"<{notice.message_id}@mkl.si>"
    assert (notice.status, notice.attempts) == (NoticeStatus.SENT, 1)
    text = message.get_body(("plain",))
    assert text is not None
    body = text.get_content()
    assert "nedelja, 28. marec 2027, 10:00–11:30" in body
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "event.ics"
    assert attachment.get_content_type() == "text/calendar"
    calendar = Calendar.from_ical(attachment.get_content())
    [vevent] = calendar.events
    # 10:00 on the day clocks go forward, in the library's zone, as the VTIMEZONE says.
    assert vevent.start.isoformat() == "2027-03-28T10:00:00+02:00"
    assert vevent["DTSTART"].params["TZID"] == "Europe/Ljubljana"
    assert [z["TZID"] for z in calendar.walk("VTIMEZONE")] == ["Europe/Ljubljana"]
    assert str(vevent["SUMMARY"]) == "Delavnica robotike"


async def test_a_connection_dropped_after_data_is_retried_once_with_the_same_message_id(
    workshop: Workshop, smtp: SmtpServer
) -> None:
    await service.register(workshop.event.id, patron("ana@example.org"), language="en", now=BEFORE)
    smtp.mailbox.drop = 1
    worker = worker_for(smtp)

    assert await worker.run_once() == 1
    assert smtp.mailbox.messages == []
    failed = await Notice.get()
    assert (failed.status, failed.attempts, failed.last_error) == (
        NoticeStatus.PENDING,
        1,
        "SMTPServerDisconnected",
    )

    assert await worker.run_once() == 1
    assert await worker.run_once() == 0
    [message] = await smtp.wait_for(1)
    sent = await Notice.get()
    assert (sent.status, sent.attempts) == (NoticeStatus.SENT, 2)
    assert message["Message-ID"] == f"<{sent.message_id}@mkl.si>"


async def test_a_worker_stopped_mid_delivery_loses_nothing_and_sends_once(
    workshop: Workshop, smtp: SmtpServer
) -> None:
    await service.register(workshop.event.id, patron("ana@example.org"), language="en", now=BEFORE)
    smtp.mailbox.hold_next()
    stop = asyncio.Event()
    # A short timeout: on cancellation aiosmtplib says QUIT and waits that long for the
    # held server's answer.
    task = asyncio.create_task(worker_for(smtp, timeout=0.5).run(stop))
    assert await asyncio.to_thread(smtp.mailbox.holding.wait, 10)

    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    smtp.mailbox.release(smtp.loop)
    held = await Notice.get()
    assert (held.status, held.claimed_until) == (NoticeStatus.PENDING, None)

    restarted = worker_for(smtp)
    assert await restarted.run_once() == 1
    assert await restarted.run_once() == 0
    [message] = await smtp.wait_for(1)
    assert message["To"] == "ana@example.org"
    assert (await Notice.get()).status == NoticeStatus.SENT


CONTEXT = {
    "name": "",
    "library": "L",
    "title": "T",
    "start": BEFORE,
    "end": BEFORE,
    "all_day": False,
    "series": False,
    "place": "",
    "party_size": 1,
    "manage_url": "https://x/",
    "event_url": "https://x/",
    "erase_days": 30,
}


async def test_workers_side_by_side_claim_each_notice_once(db: str, smtp: SmtpServer) -> None:
    """Two workers claiming at the same moment get disjoint batches (SKIP LOCKED on
    PostgreSQL, the write lock on SQLite), and a claimed notice waits out its lease."""
    async with in_transaction("default") as conn:
        for i in range(12):
            assert await enqueue(
                conn,
                f"p{i}@example.org",
                "registration_cancelled",
                "en",
                CONTEXT,
                f"test:{i}",
                attachments=[Attachment("a.ics", "text/calendar", "BEGIN:VCALENDAR")],
            )
        assert not await enqueue(
            conn, "p0@example.org", "registration_cancelled", "en", CONTEXT, "test:0"
        )
    one, two = worker_for(smtp, batch=7), worker_for(smtp, batch=7)
    now = dt.datetime.now(dt.UTC)
    connection = get_connection("default")
    first, second = await asyncio.gather(one.claim(now, connection), two.claim(now, connection))
    ids = [n.id for n in first] + [n.id for n in second]
    assert sorted(ids) == sorted(set(ids))
    assert len(ids) == 12
    assert await one.claim(now, connection) == []
    later = now + dt.timedelta(minutes=6)
    assert len(await one.claim(later, connection)) == 7
    assert (await Notice.filter(attempts=2).count()) == 7


async def test_nothing_is_sent_to_an_address_erased_before_delivery(
    workshop: Workshop, smtp: SmtpServer
) -> None:
    outcome = await service.register(
        workshop.event.id, patron("ana@example.org"), language="en", now=BEFORE
    )
    assert outcome.registration is not None
    await service.erase(outcome.registration.id, now=BEFORE)

    assert await worker_for(smtp).run_once() == 0
    notice = await Notice.get()
    assert notice.status == NoticeStatus.DROPPED
    assert [notice.recipient, notice.text] == [None, None]
    assert smtp.mailbox.messages == []
    await outcome.registration.refresh_from_db()
    assert outcome.registration.status == RegistrationStatus.CANCELLED
