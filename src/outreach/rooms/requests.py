"""Room requests: what the public may ask for, when a room is free, a request, the staff's
decision, and erasure of the requester's personal data.

An approved request holds its room in every conflict check: an internal one as a row of
``room_request`` (the third source of ``outreach.scheduling.conflicts``), a public one as an
event of the programme in that room. Every write that books a room takes the room's lock
(:func:`outreach.scheduling.conflicts.lock_resources`) before it looks for a clash, so a
request approved at the same moment as an event is saved into the same room cannot both win.

Who asked and why (name, organisation, email, phone, purpose) is seen by staff and by the
requester's notices only: the free and busy times never say who or what takes a room, the
audit log records the room and times but no personal data, and :func:`erase_expired`
empties those fields a set number of days after the booking.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from outreach import errors
from outreach.i18n import format_date, format_interval, gettext, speaking
from outreach.languages import translated
from outreach.mail.outbox import enqueue, erase_copies
from outreach.models import (
    AuditEntry,
    Branch,
    Event,
    EventKind,
    EventStatus,
    Library,
    Notice,
    Occurrence,
    Room,
    RoomRequest,
    RoomRequestStatus,
    StaffUser,
    Visibility,
)
from outreach.registration import links
from outreach.registration.config import current
from outreach.rooms.schemas import DecisionIn, RoomRequestIn
from outreach.scheduling.conflicts import ROOM, begin_write, lock_resources, nameable
from outreach.scheduling.occurrences import rebuild_occurrences
from outreach.scheduling.payload import MAX_DURATION
from outreach.scheduling.recurrence import to_local, to_utc, zone
from outreach.versions import bump_data_version

log = logging.getLogger("outreach.rooms")
# The notices a requester may be sent, each once per request.
NOTICES = ("room_request_received", "room_request_approved", "room_request_declined")
# Requests erased per statement (bounds the statement's parameters).
ERASE_BATCH = 500
# How far ahead a room may be asked for.
BOOKING_HORIZON = dt.timedelta(days=366)
# The requester's links are signed under a salt of their own: a registration's link with
# the same id opens no room request.
LINK_SALT = "outreach.rooms.link"


@dataclass(frozen=True)
class Taken:
    """A time a room is taken: by an event (its id) or by another approved request."""

    starts_at: dt.datetime
    ends_at: dt.datetime
    event_id: int | None


async def requestable_rooms(library: Library) -> list[Room]:
    """The rooms of ``library`` that the public may ask for, branch by branch."""
    return (
        await Room.filter(branch__library_id=library.id, requestable=True)
        .prefetch_related("branch")
        .order_by("branch__name", "name")
    )


async def _taken(
    room_ids: Sequence[int],
    start: dt.datetime,
    end: dt.datetime,
    *,
    using_db: BaseDBAsyncClient | None = None,
    leave_out: int | None = None,
) -> dict[int, list[Taken]]:
    """Everything that takes each room between ``start`` and ``end``, by start."""
    found: dict[int, list[Taken]] = {room_id: [] for room_id in room_ids}
    occurrences = (
        await Occurrence.filter(
            room_id__in=room_ids,
            cancelled=False,
            starts_at__lt=end,
            ends_at__gt=start,
            # Nothing longer than MAX_DURATION: bounds the index range scan from below.
            starts_at__gt=start - MAX_DURATION,
        )
        .using_db(using_db)
        .values_list("room_id", "starts_at", "ends_at", "event_id")
    )
    bookings = RoomRequest.filter(
        room_id__in=room_ids,
        status=RoomRequestStatus.APPROVED,
        event_id=None,
        withdrawn_at=None,
        starts_at__lt=end,
        ends_at__gt=start,
    ).using_db(using_db)
    if leave_out is not None:
        bookings = bookings.exclude(id=leave_out)
    rows = [
        *occurrences,
        *(await bookings.values_list("room_id", "starts_at", "ends_at", "event_id")),
    ]
    for room_id, starts_at, ends_at, event_id in rows:
        found[room_id].append(Taken(starts_at, ends_at, event_id))  # type: ignore[arg-type]
    for items in found.values():
        items.sort(key=lambda t: (t.starts_at, t.ends_at))
    return found


def merged(items: Iterable[Taken]) -> list[tuple[dt.datetime, dt.datetime]]:
    """Overlapping or touching times as one: a busy time says nothing of what fills it."""
    spans: list[tuple[dt.datetime, dt.datetime]] = []
    for item in sorted(items, key=lambda t: t.starts_at):
        if spans and item.starts_at <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], item.ends_at))
        else:
            spans.append((item.starts_at, item.ends_at))
    return spans


async def busy_times(
    rooms: Sequence[Room], start: dt.datetime, end: dt.datetime
) -> dict[int, list[tuple[dt.datetime, dt.datetime]]]:
    """When each room is taken between ``start`` and ``end``, merged, without names."""
    taken = await _taken([room.id for room in rooms], start, end)
    return {room_id: merged(items) for room_id, items in taken.items()}


def _instant(day: dt.date, hhmm: str, tz: ZoneInfo) -> dt.datetime | None:
    """The instant of a local time, or None when the clocks skip it that day."""
    local = dt.datetime.combine(day, dt.time.fromisoformat(hhmm))
    instant = to_utc(local, tz)
    return instant if to_local(instant, tz) == local else None


async def submit_request(
    library: Library, data: RoomRequestIn, *, erase_days: int, now: dt.datetime | None = None
) -> RoomRequest:
    """Store a request for a free time of a requestable room (pending until staff decide).

    Invalid names the field at fault; a time the room is taken is a Conflict, which says
    only that it is taken.
    """
    now = now or dt.datetime.now(dt.UTC)
    room = await Room.get_or_none(id=data.room, branch__library_id=library.id, requestable=True)
    if room is None:
        raise errors.Invalid({"room": gettext("is not a room of this library you may ask for")})
    tz = zone(library.timezone)
    problems: dict[str, str] = {}
    starts_at = _instant(data.day, data.start, tz)
    ends_at = _instant(data.day, data.end, tz)
    for name, instant in (("start", starts_at), ("end", ends_at)):
        if instant is None:
            problems[name] = gettext("does not exist on that day: the clocks go forward then")
    if starts_at is None or ends_at is None:
        raise errors.Invalid(problems)
    if starts_at <= now:
        problems["day"] = gettext("must be in the future")
    elif starts_at > now + BOOKING_HORIZON:
        problems["day"] = gettext("must be within a year from today")
    if data.attendees > room.capacity:
        problems["attendees"] = gettext(
            "%(room)s holds at most %(capacity)s people", room=room.name, capacity=room.capacity
        )
    if problems:
        raise errors.Invalid(problems)
    async with in_transaction("default") as conn:
        await lock_resources(conn, [(ROOM, room.id)])
        taken = await _taken([room.id], starts_at, ends_at, using_db=conn)
        if taken[room.id]:
            raise errors.Conflict(
                gettext("The room is taken at that time: choose a free time."),
                fields={"start": gettext("the room is taken then")},
            )
        request = await RoomRequest.create(
            library=library,
            room=room,
            starts_at=starts_at,
            ends_at=ends_at,
            attendees=data.attendees,
            language=data.language,
            purpose=data.purpose,
            name=data.name.strip(),
            organisation=data.organisation.strip() or None,
            email=data.email.strip(),
            phone=data.phone.strip() or None,
            consented_at=now,
            created_at=now,
            secret=secrets.token_urlsafe(18),
            using_db=conn,
        )
        await _audit(conn, None, request, room, "room_request.create", {})
        await _notify(conn, request, library, room, "room_request_received", erase_days)
    return request


async def _audit(
    conn: BaseDBAsyncClient,
    user: StaffUser | None,
    request: RoomRequest,
    room: Room,
    action: str,
    changes: dict[str, object],
) -> None:
    # The room and times only: the audit log is a log, and holds nobody's personal data.
    await AuditEntry.record(
        conn,
        user=user,
        library_id=request.library_id,  # type: ignore[attr-defined]
        action=action,
        entity="room_request",
        entity_id=request.id,
        changes={
            "room": room.id,
            "start": request.starts_at.isoformat(),
            "end": request.ends_at.isoformat(),
            **changes,
        },
    )


def notice_key(template: str, request_id: int) -> str:
    """The outbox's key of one notice about one request."""
    return f"{template}:{request_id}"


def when_text(library: Library, starts_at: dt.datetime, ends_at: dt.datetime) -> str:
    """``Thursday, 4 March 2027, 17:00–19:00`` in the current language and the library's zone."""
    tz = zone(library.timezone)
    start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
    return f"{format_date(start.date(), 'full')}, {format_interval(start, end, 'Hm')}"


def manage_url(request: RoomRequest, library: Library, erase_days: int) -> str | None:
    """The requester's own link: it works until the personal data is erased. None for a
    request made before requests had links (no secret) or already erased."""
    config = current()
    if request.secret is None:
        return None
    expires = request.ends_at + dt.timedelta(days=erase_days)
    token = links.sign(config.secret_key, request.id, request.secret, expires, salt=LINK_SALT)
    return f"{config.base_url}/{library.slug}/rooms/requests/{token}"


async def by_link(token: str, *, now: dt.datetime | None = None) -> RoomRequest:
    """The request a requester's link opens (:class:`links.LinkInvalid` /
    :class:`links.LinkExpired` otherwise), with its room, branch and library."""
    link = links.read(current().secret_key, token, now=now, salt=LINK_SALT)
    request = (
        await RoomRequest.filter(id=link.registration)
        .prefetch_related("room", "room__branch", "library")
        .first()
    )
    if request is None or not links.matches(link, request.secret):
        raise links.LinkInvalid
    return request


def withdrawable(request: RoomRequest) -> bool:
    """Whether the requester may withdraw it: pending, or an approved internal booking.

    A booking made a public event is in the programme (its page, feeds and possibly
    registrations): the staff cancel that event, whose cancellation tells everyone
    concerned, so the requester is asked to write to the library instead.
    """
    return (
        request.withdrawn_at is None
        and request.event_id is None  # type: ignore[attr-defined]
        and request.status in (RoomRequestStatus.PENDING, RoomRequestStatus.APPROVED)
    )


async def _withdraw(conn: BaseDBAsyncClient, request: RoomRequest, now: dt.datetime) -> None:
    room = await Room.get(id=request.room_id, using_db=conn)  # type: ignore[attr-defined]
    request.withdrawn_at = now
    await request.save(using_db=conn, update_fields=["withdrawn_at"])
    await _audit(conn, None, request, room, "room_request.withdraw", {})
    if request.status == RoomRequestStatus.APPROVED:
        # The room is free again on the public page.
        await bump_data_version(using_db=conn)


async def _locked(conn: BaseDBAsyncClient, request_id: int) -> RoomRequest:
    """The request, read again under its room's lock."""
    room_id = (
        await RoomRequest.filter(id=request_id).using_db(conn).values_list("room_id", flat=True)
    )
    await lock_resources(conn, [(ROOM, int(room_id[0]))])  # type: ignore[call-overload]
    return await RoomRequest.get(id=request_id, using_db=conn)


async def withdraw(request_id: int, *, now: dt.datetime | None = None) -> RoomRequest:
    """The requester withdraws a pending request or an approved internal booking; a
    withdrawn booking no longer holds the room."""
    now = now or dt.datetime.now(dt.UTC)
    async with in_transaction("default") as conn:
        request = await _locked(conn, request_id)
        if not withdrawable(request):
            raise errors.Conflict(gettext("This request can no longer be withdrawn here."))
        await _withdraw(conn, request, now)
    return request


async def erase(request_id: int, *, now: dt.datetime | None = None) -> None:
    """Erase the requester's personal data now (they asked, through their link), and the
    copies in their notices; room, times and attendees stay. A request still withdrawable
    is withdrawn first: nobody could be answered about it any more."""
    now = now or dt.datetime.now(dt.UTC)
    async with in_transaction("default") as conn:
        request = await _locked(conn, request_id)
        if withdrawable(request):
            await _withdraw(conn, request, now)
        await _erase_rows(conn, [request.id], now)


async def _erase_rows(conn: BaseDBAsyncClient, ids: Sequence[int], now: dt.datetime) -> int:
    """Empty the personal fields of requests and the copies of them in their notices; the
    room, times and attendees stay."""
    keys = [notice_key(template, i) for i in ids for template in NOTICES]
    await erase_copies(Notice.filter(dedupe_key__in=keys).using_db(conn))
    return await (
        RoomRequest.filter(id__in=ids)
        .using_db(conn)
        .update(
            purpose=None,
            name=None,
            organisation=None,
            email=None,
            phone=None,
            secret=None,
            erased_at=now,
        )
    )


async def _notify(
    conn: BaseDBAsyncClient,
    request: RoomRequest,
    library: Library,
    room: Room,
    template: str,
    erase_days: int,
) -> None:
    """Owe the requester a notice about their request, in their language (in ``conn``)."""
    if request.email is None:
        return
    branch = await Branch.get(id=room.branch_id, using_db=conn)  # type: ignore[attr-defined]
    with speaking(request.language) as lang:
        context = {
            "library": translated(library.name, lang),
            "room": room.name,
            "branch": branch.name,
            "address": f"{branch.address}, {branch.postcode} {branch.city}".replace(" ,", ","),
            "when": when_text(library, request.starts_at, request.ends_at),
            "name": request.name or "",
            "message": request.message,
            "public": request.visibility == Visibility.PUBLIC,
            "erase_days": erase_days,
            "manage_url": manage_url(request, library, erase_days),
        }
    await enqueue(
        conn,
        request.email,
        template,
        request.language,
        context,
        notice_key(template, request.id),
        library_id=library.id,
    )


async def decide(
    request_id: int,
    decision: DecisionIn,
    *,
    user: StaffUser,
    library: Library,
    erase_days: int,
    now: dt.datetime | None = None,
) -> RoomRequest:
    """Approve (a booking; public ones become an event of the programme) or decline a
    pending request of ``library``, and owe the requester a notice, in one transaction."""
    now = now or dt.datetime.now(dt.UTC)
    found = await RoomRequest.get_or_none(id=request_id, library_id=library.id)
    if found is None:
        raise errors.NotFound("room request", message=gettext("No such room request."))
    room_id: int = found.room_id  # type: ignore[attr-defined]
    async with in_transaction("default") as conn:
        await lock_resources(conn, [(ROOM, room_id)])
        request = await RoomRequest.get(id=request_id, using_db=conn)
        room = await Room.get(id=room_id, using_db=conn)
        if request.status != RoomRequestStatus.PENDING:
            raise errors.Conflict(gettext("This request has already been answered."))
        if request.withdrawn_at is not None:
            raise errors.Conflict(gettext("The requester has withdrawn this request."))
        approve = decision.decision == "approve"
        if approve:
            await _check_free(conn, library, request, user)
            request.status = RoomRequestStatus.APPROVED
            if decision.public:
                request.visibility = Visibility.PUBLIC
                request.event = await _public_event(  # type: ignore[assignment]
                    conn, library, room, request, decision, user, now
                )
        else:
            request.status = RoomRequestStatus.DECLINED
        request.message = decision.message.strip()
        request.decided_by = user  # type: ignore[assignment]
        request.decided_at = now
        await request.save(using_db=conn)
        action = "room_request.approve" if approve else "room_request.decline"
        await _audit(conn, user, request, room, action, {"visibility": request.visibility.value})
        template = "room_request_approved" if approve else "room_request_declined"
        await _notify(conn, request, library, room, template, erase_days)
        if approve:
            # The room's free times on the public page, and a public event's feeds, change.
            await bump_data_version(using_db=conn)
    return request


async def _check_free(
    conn: BaseDBAsyncClient, library: Library, request: RoomRequest, reader: StaffUser
) -> None:
    """Refuse, in words, to approve a request for a time that has passed or is taken; the
    event that holds the room is named only if ``reader`` may see it (:func:`nameable`)."""
    if request.starts_at <= dt.datetime.now(dt.UTC):
        raise errors.Conflict(gettext("The requested time has passed: decline the request."))
    room_id: int = request.room_id  # type: ignore[attr-defined]
    taken = (
        await _taken(
            [room_id], request.starts_at, request.ends_at, using_db=conn, leave_out=request.id
        )
    )[room_id]
    if not taken:
        return
    first = taken[0]
    when = when_text(library, first.starts_at, first.ends_at)
    ids = [] if first.event_id is None else [first.event_id]
    event = (await nameable(conn, reader, ids)).get(first.event_id or 0)
    if first.event_id is None:
        message = gettext(
            "The room is already booked %(when)s by another approved request.", when=when
        )
    elif event is None:
        message = gettext("The room is already booked %(when)s by another booking.", when=when)
    else:
        message = gettext(
            "The room is already booked %(when)s by “%(title)s”.",
            when=when,
            title=translated(event.title, library.default_language),
        )
    raise errors.Conflict(message)


async def _public_event(
    conn: BaseDBAsyncClient,
    library: Library,
    room: Room,
    request: RoomRequest,
    decision: DecisionIn,
    user: StaffUser,
    now: dt.datetime,
) -> Event:
    """The event of the programme a public booking becomes: the staff's title, no personal
    data (the requester's purpose stays with the request)."""
    event = await Event.create(
        library=library,
        kind=EventKind(decision.kind),
        title={library.default_language: decision.title.strip()},
        starts_at=request.starts_at,
        ends_at=request.ends_at,
        timezone=library.timezone,
        branch_id=room.branch_id,  # type: ignore[attr-defined]
        room=room,
        status=EventStatus.PUBLISHED,
        visibility=Visibility.PUBLIC,
        updated_at=now,
        created_by=user,
        using_db=conn,
    )
    await rebuild_occurrences(event, using_db=conn)
    await AuditEntry.record(
        conn,
        user=user,
        library_id=library.id,
        action="create",
        entity="event",
        entity_id=event.id,
        changes={"room_request": request.id},
    )
    return event


async def erase_expired(days: int, *, now: dt.datetime | None = None) -> int:
    """Empty the personal data of requests whose time ended ``days`` days ago or more, and
    the copies of it in their notices (one still unsent is dropped)."""
    now = now or dt.datetime.now(dt.UTC)
    erased = 0
    async with in_transaction("default") as conn:
        await begin_write(conn)
        due = await (
            RoomRequest.filter(ends_at__lte=now - dt.timedelta(days=days), erased_at=None)
            .using_db(conn)
            .values_list("id", flat=True)
        )
        ids = [int(i) for i in due]  # type: ignore[call-overload]
        for start in range(0, len(ids), ERASE_BATCH):
            erased += await _erase_rows(conn, ids[start : start + ERASE_BATCH], now)
    return erased


async def keep_erasing(stop: asyncio.Event, days: int, every: float = 3600.0) -> None:
    """:func:`erase_expired` now and every ``every`` seconds until ``stop`` is set (the
    app's lifespan runs it beside the registrations' sweep)."""
    while not stop.is_set():
        try:
            erased = await erase_expired(days)
            if erased:
                log.info("erased the personal data of %s room request(s)", erased)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The type only: a message could hold what the database was given.
            log.warning("room request erasure paused: %s", type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


async def requests_of(library_ids: Sequence[int], *, pending: bool) -> list[RoomRequest]:
    """Requests of the libraries, pending (soonest first) or answered or withdrawn
    (latest first)."""
    query = RoomRequest.filter(library_id__in=library_ids).prefetch_related(
        "room", "room__branch", "library", "decided_by", "event"
    )
    waiting = Q(status=RoomRequestStatus.PENDING, withdrawn_at=None)
    if pending:
        return await query.filter(waiting).order_by("starts_at")
    return await query.filter(~waiting).order_by("-starts_at").limit(200)
