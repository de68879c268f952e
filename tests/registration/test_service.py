"""Registration's rules on the real database: places, the waitlist, the outbox rows each
change writes, changes by staff, check-in and erasure."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from outreach import errors
from outreach.models import Attendance, Notice, NoticeStatus, Registration, RegistrationStatus
from outreach.registration import housekeeping, service
from outreach.registration.schemas import RegistrationChange, RegistrationIn, StaffRegistrationIn
from outreach.scheduling.service import change_occurrence
from tests.registration.conftest import BEFORE, STARTS, Workshop, held


def patron(
    email: str, party: int = 1, start: dt.datetime = STARTS[1], **extra: object
) -> RegistrationIn:
    return RegistrationIn.model_validate(
        {
            "original_start": start.isoformat(),
            "name": email.split("@")[0].title(),
            "email": email,
            "party_size": party,
            "consent": True,
            **extra,
        }
    )


async def notices() -> list[tuple[str, str | None, str]]:
    rows = await Notice.all().order_by("id")
    return [(n.template, n.recipient, n.dedupe_key.split(":")[0]) for n in rows]


async def test_places_fill_then_the_waitlist_then_a_cancellation_promotes(
    workshop: Workshop,
) -> None:
    event = workshop.event.id
    first = [
        await service.register(event, patron(f"p{i}@example.org", 4), language="sl", now=BEFORE)
        for i in range(5)
    ]
    assert [o.status for o in first] == [RegistrationStatus.CONFIRMED] * 5
    waiting = await service.register(event, patron("w1@example.org", 2), language="en", now=BEFORE)
    also = await service.register(event, patron("w2@example.org", 1), language="fi", now=BEFORE)
    assert (waiting.status, also.status) == (RegistrationStatus.WAITLISTED,) * 2

    await service.cancel(held(first[0]).id, now=BEFORE)

    statuses = {r.email: r.status for r in await Registration.all()}
    assert statuses["p0@example.org"] == RegistrationStatus.CANCELLED
    assert statuses["w1@example.org"] == RegistrationStatus.CONFIRMED
    assert statuses["w2@example.org"] == RegistrationStatus.CONFIRMED
    assert await notices() == [
        *[("registration_confirmed", f"p{i}@example.org", "registered") for i in range(5)],
        ("registration_waitlisted", "w1@example.org", "registered"),
        ("registration_waitlisted", "w2@example.org", "registered"),
        ("registration_cancelled", "p0@example.org", "cancelled"),
        ("registration_promoted", "w1@example.org", "promoted"),
        ("registration_promoted", "w2@example.org", "promoted"),
    ]
    promoted = await Notice.get(template="registration_promoted", recipient="w1@example.org")
    assert promoted.language == "en"
    assert promoted.subject == "A place came free: you are registered for Robotics workshop"
    assert "Sunday, March 28, 2027, 10:00" in (promoted.text or "")
    fi = await Notice.get(template="registration_promoted", recipient="w2@example.org")
    assert fi.language == "fi"
    assert "sunnuntai 28. maaliskuuta 2027" in (fi.text or "")


async def test_parties_must_fit_whole_and_a_smaller_party_frees_places(
    workshop: Workshop,
) -> None:
    event = workshop.event.id
    big = [
        await service.register(event, patron(f"p{i}@example.org", 4), language="sl", now=BEFORE)
        for i in range(5)
    ]
    waiting = await service.register(event, patron("w@example.org", 2), language="sl", now=BEFORE)
    assert waiting.status == RegistrationStatus.WAITLISTED
    with pytest.raises(errors.Invalid) as too_many:
        await service.register(event, patron("five@example.org", 5), language="sl", now=BEFORE)
    assert too_many.value.fields == {"party_size": "at most 4 people may register together"}

    await service.change(held(big[0]).id, RegistrationChange(party_size=2), now=BEFORE)
    promoted = await Registration.get(id=held(waiting).id)
    assert promoted.status == RegistrationStatus.CONFIRMED
    pending = Notice.filter(template="registration_promoted", status=NoticeStatus.PENDING)
    assert await pending.count() == 1
    with pytest.raises(service.Full):
        await service.change(held(big[0]).id, RegistrationChange(party_size=3), now=BEFORE)

    await service.change(held(big[1]).id, RegistrationChange(party_size=3), now=BEFORE)
    before = (await Registration.all().count(), await Notice.all().count())
    with pytest.raises(service.Full) as refused:
        await service.register(event, patron("two@example.org", 2), language="sl", now=BEFORE)
    assert refused.value.fields == {"party_size": "only 1 of the places are left"}
    assert (await Registration.all().count(), await Notice.all().count()) == before


async def test_closed_registration_writes_nothing_and_one_address_holds_one_place(
    workshop: Workshop,
) -> None:
    event = workshop.event.id
    with pytest.raises(service.Closed) as closed:
        await service.register(event, patron("late@example.org"), language="en", now=STARTS[1])
    assert closed.value.error == "Registration has closed."
    assert await Registration.all().count() == 0
    assert await Notice.all().count() == 0

    new = await service.register(event, patron("ana@example.org"), language="sl", now=BEFORE)
    again = await service.register(event, patron("Ana@Example.org"), language="sl", now=BEFORE)
    robot = await service.register(
        event, patron("bot@example.org", website="http://spam.example"), language="sl", now=BEFORE
    )
    assert new.registration is not None
    assert (again.registration, robot.registration) == (None, None)
    assert await Registration.all().count() == 1
    assert await notices() == [
        ("registration_confirmed", "ana@example.org", "registered"),
        ("registration_exists", "ana@example.org", "exists"),
    ]

    workshop.policy.opens_at = dt.datetime(2027, 3, 20, 8, tzinfo=dt.UTC)
    await workshop.policy.save()
    with pytest.raises(service.Closed) as early:
        await service.register(event, patron("early@example.org"), language="en", now=BEFORE)
    assert early.value.error == "Registration opens on Mar 20, 2027, 9:00:00\u202fAM."
    assert await Registration.all().count() == 1


async def test_simultaneous_registrations_never_overfill(workshop: Workshop) -> None:
    """Race-safe: every one of 20 simultaneous registrations is decided against the places
    the ones before it left (the event's row lock on PostgreSQL, the write lock on SQLite);
    bench/registration.py sends 200 for 20 places over HTTP."""
    event = workshop.event.id
    await service.set_capacity(event, STARTS[1], 5, now=BEFORE)
    outcomes = await asyncio.gather(
        *(
            service.register(event, patron(f"r{i}@example.org"), language="sl", now=BEFORE)
            for i in range(20)
        )
    )
    statuses = [o.status for o in outcomes]
    assert statuses.count(RegistrationStatus.CONFIRMED) == 5
    assert statuses.count(RegistrationStatus.WAITLISTED) == 15
    assert await Registration.filter(status=RegistrationStatus.CONFIRMED).count() == 5


async def test_moving_and_cancelling_a_date_tell_everyone_registered_for_it(
    workshop: Workshop,
) -> None:
    event = workshop.event.id
    await service.register(event, patron("ana@example.org"), language="sl", now=BEFORE)
    await service.register(
        event, patron("bor@example.org", start=STARTS[2]), language="en", now=BEFORE
    )

    await change_occurrence(
        event,
        STARTS[1],
        {"start": "2027-03-28T14:00:00", "end": "2027-03-28T15:30:00"},
        user=None,
    )
    await change_occurrence(event, STARTS[2], {"cancelled": True}, user=None)

    changed = await Notice.get(template="occurrence_changed")
    assert changed.recipient == "ana@example.org"
    assert changed.subject == "Spremenjeno: Delavnica robotike"
    cancelled = await Notice.get(template="occurrence_cancelled")
    assert cancelled.recipient == "bor@example.org"
    assert cancelled.subject == "Cancelled: Robotics workshop"
    statuses = {r.email: r.status for r in await Registration.all()}
    assert statuses == {
        "ana@example.org": RegistrationStatus.CONFIRMED,
        "bor@example.org": RegistrationStatus.CANCELLED,
    }
    assert changed.attachments is not None
    assert "DTSTART;TZID=Europe/Ljubljana:20270328T140000" in changed.attachments[0]["text"]


async def test_check_in_counts_who_came_and_no_shows_are_counted_not_named(
    workshop: Workshop,
) -> None:
    event = workshop.event.id
    family = await service.register(
        event, patron("mama@example.org", 3, age_bands={"0-5": 2, "19+": 1}), language="sl",
        now=BEFORE,
    )  # fmt: skip
    single = await service.register(event, patron("ivo@example.org"), language="sl", now=BEFORE)
    absent = await service.register(event, patron("nik@example.org"), language="sl", now=BEFORE)
    with pytest.raises(errors.Conflict):
        await service.check_in(held(family).id, "attended", now=BEFORE)

    on_the_day = STARTS[1] + dt.timedelta(minutes=5)
    await service.check_in(held(family).id, "attended", now=on_the_day)
    await service.check_in(held(single).id, "attended", now=on_the_day)
    await service.check_in(held(absent).id, "no_show", now=on_the_day)
    await service.check_in(held(single).id, "confirmed", now=on_the_day)
    await service.check_in(held(single).id, "attended", now=on_the_day)

    counts = {
        (a.age_band, a.mode): a.count
        for a in await Attendance.filter(event_id=event, original_start=STARTS[1])
    }
    assert counts == {("0-5", "on_site"): 2, ("19+", "on_site"): 1, ("unknown", "on_site"): 1}
    assert await Registration.filter(status=RegistrationStatus.NO_SHOW).count() == 1


async def test_personal_data_is_erased_after_the_kept_days_and_counts_stay(
    workshop: Workshop,
) -> None:
    event = workshop.event.id
    first = await service.register(
        event, patron("ana@example.org", start=STARTS[0]), language="sl", now=BEFORE
    )
    later = await service.register(event, patron("bor@example.org"), language="sl", now=BEFORE)
    phoned = await service.register(
        event,
        StaffRegistrationIn.model_validate(
            {"original_start": STARTS[0].isoformat(), "name": "Cene", "party_size": 2}
        ),
        language="sl",
        by_staff=True,
        now=BEFORE,
    )
    end_of_first = STARTS[0] + dt.timedelta(minutes=90)

    assert await housekeeping.erase_due(end_of_first + dt.timedelta(days=29)) == 0
    assert await housekeeping.erase_due(end_of_first + dt.timedelta(days=30, minutes=1)) == 2

    rows = {r.id: r for r in await Registration.all()}
    gone = rows[held(first).id]
    assert [gone.name, gone.email, gone.secret] == [None, None, None]
    assert gone.party_size == 1
    assert rows[held(phoned).id].name is None
    assert rows[held(later).id].email == "bor@example.org"
    notice = await Notice.get(registration_id=held(first).id)
    assert [notice.recipient, notice.subject, notice.text, notice.html] == [None] * 4
