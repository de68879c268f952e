"""The notices registration owes, written into the outbox in the caller's transaction.

Each is keyed so that one person hears once of one thing: ``registered:<id>``,
``promoted:<id>``, ``cancelled:<id>``, ``changed:<id>:<event revision>``,
``reminder:<id>:<start>``. Every notice carries the patron's signed link, and those about
a place (confirmation, promotion, change, reminder) carry the occurrence as an ``.ics``
file built with the feeds' own code: the library's zone as a VTIMEZONE, local times with
their TZID, so a calendar shows 10:00 on the day clocks change too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from icalendar import Event as VEvent
from tortoise.backends.base.client import BaseDBAsyncClient

from outreach.feeds.ical import calendar, clean, host_of
from outreach.feeds.timezones import vtimezone
from outreach.languages import translated
from outreach.mail.outbox import Attachment, enqueue
from outreach.models import Branch, Event, Library, Registration, Room
from outreach.registration import links
from outreach.registration.config import current
from outreach.scheduling.recurrence import zone


@dataclass(frozen=True)
class When:
    """The occurrence a notice is about, in UTC (the template shows it in local time)."""

    original_start: dt.datetime | None
    starts_at: dt.datetime
    ends_at: dt.datetime
    room_id: int | None
    cancelled: bool


def manage_url(registration: Registration, expires: dt.datetime) -> str:
    config = current()
    assert registration.secret is not None
    token = links.sign(config.secret_key, registration.id, registration.secret, expires)
    library: Library = registration.library
    return f"{config.base_url}/{library.slug}/registrations/{token}"


async def _place(conn: BaseDBAsyncClient, event: Event, when: When) -> str:
    if event.place_name or event.place_address:
        return ", ".join(p for p in (event.place_name, event.place_address) if p)
    room_id = when.room_id
    room = await Room.filter(id=room_id).using_db(conn).first() if room_id else None
    branch_id = room.branch_id if room is not None else event.branch_id  # type: ignore[attr-defined]
    branch = await Branch.filter(id=branch_id).using_db(conn).first() if branch_id else None
    if branch is None:
        return ""
    parts = [room.name if room is not None else "", branch.name, branch.address]
    parts.append(f"{branch.postcode} {branch.city}".strip())
    return ", ".join(p for p in parts if p)


def ics(
    registration: Registration, event: Event, library: Library, when: When, place: str
) -> Attachment:
    """The occurrence as one VEVENT, with its zone, for the patron's calendar.

    Its UID is the registration's, so a change notice's file updates the entry the
    confirmation's made (a higher SEQUENCE), and a cancellation's cancels it.
    """
    config = current()
    tz = zone(event.timezone)
    title = clean(translated(event.title, registration.language, library.default_language))
    cal = calendar(
        name=translated(library.name, registration.language, library.default_language),
        uid=f"outreach-registration-{registration.id}@{host_of(config.base_url)}",
    )
    del cal["REFRESH-INTERVAL"], cal["X-PUBLISHED-TTL"]
    cal.add("METHOD", "PUBLISH")
    start: dt.date | dt.datetime
    end: dt.date | dt.datetime
    if event.all_day:
        start = when.starts_at.astimezone(tz).date()
        end = when.ends_at.astimezone(tz).date()
    else:
        start, end = when.starts_at.astimezone(tz), when.ends_at.astimezone(tz)
    vevent = VEvent.new(
        uid=f"outreach-registration-{registration.id}@{host_of(config.base_url)}",
        summary=title,
        start=start,
        end=end,
        stamp=event.updated_at,
        last_modified=event.updated_at,
        sequence=event.revision,
        status="CANCELLED" if when.cancelled else "CONFIRMED",  # type: ignore[arg-type]
        location=clean(place) or None,
        url=f"{config.base_url}/{library.slug}/events/{event.id}",
    )
    if not event.all_day:
        cal.add_component(vtimezone(tz.key, when.starts_at.astimezone(tz).date()))
    cal.add_component(vevent)
    return Attachment("event.ics", "text/calendar", cal.to_ical().decode("utf-8"))


async def send(
    conn: BaseDBAsyncClient,
    template: str,
    registration: Registration,
    event: Event,
    when: When,
    *,
    key: str,
    link_expires: dt.datetime,
    attach: bool,
    extra: dict[str, Any] | None = None,
    due_at: dt.datetime | None = None,
) -> bool:
    """Owe ``registration``'s holder the notice ``template``; False if already owed (or
    there is no address: a registration taken by phone without one)."""
    if registration.email is None:
        return False
    library: Library = registration.library
    tz = zone(event.timezone)
    place = await _place(conn, event, when)
    context = {
        "name": registration.name or "",
        "library": translated(library.name, registration.language, library.default_language),
        "title": translated(event.title, registration.language, library.default_language),
        "start": when.starts_at.astimezone(tz),
        "end": when.ends_at.astimezone(tz),
        "all_day": event.all_day,
        "series": registration.original_start is None,
        "place": place,
        "party_size": registration.party_size,
        "manage_url": manage_url(registration, link_expires),
        "event_url": f"{current().base_url}/{library.slug}/events/{event.id}",
        "erase_days": current().erase_days,
        **{
            k: v.astimezone(tz) if isinstance(v, dt.datetime) else v
            for k, v in (extra or {}).items()
        },
    }
    attachments = [ics(registration, event, library, when, place)] if attach else []
    return await enqueue(
        conn,
        registration.email,
        template,
        registration.language,
        context,
        key,
        library_id=library.id,
        registration_id=registration.id,
        attachments=attachments,
        due_at=due_at,
    )
