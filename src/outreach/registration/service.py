"""Registration: places, the waitlist, changes through a link, check-in and erasure.

Every write is one transaction that first takes the event's registration lock: on
PostgreSQL the event's row (``SELECT … FOR UPDATE``, as the scheduling service does before
it moves or cancels an occurrence), on SQLite the database's write lock (taken by the
transaction's first statement). So two patrons asking
for the last place at once are served one after the other, and 200 asking for 20 places
get exactly 20. A cancellation and the promotion of whoever it makes room for are one
transaction; so are a change and the notice it owes.

Places: an occurrence's capacity is its own (``capacity_override``) or else the event's,
never more than its room holds; a series registration holds a place at every occurrence,
so a series' capacity is the smallest of them. Confirmed, attended and no-show parties
hold places; the waitlist is served in order of arrival, each party promoted when its
whole party fits.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.functions import Sum
from tortoise.transactions import in_transaction

from outreach import errors, publicity
from outreach.i18n import _, format_datetime, ngettext
from outreach.mail.outbox import erase_copies
from outreach.models import (
    AgeBand,
    Attendance,
    AttendanceMode,
    CapacityOverride,
    Event,
    EventStatus,
    Notice,
    Occurrence,
    Registration,
    RegistrationPolicy,
    RegistrationScope,
    RegistrationStatus,
    Room,
)
from outreach.registration import links
from outreach.registration.config import current
from outreach.registration.notices import When, send
from outreach.registration.schemas import (
    PolicyIn,
    RegistrationChange,
    RegistrationIn,
    StaffRegistrationIn,
)
from outreach.scheduling.conflicts import begin_write
from outreach.scheduling.recurrence import zone
from outreach.sql import is_postgres

HOLDING = (RegistrationStatus.CONFIRMED, RegistrationStatus.ATTENDED, RegistrationStatus.NO_SHOW)
ACTIVE = (RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED)
MAX_ID = 2**31 - 1


def status_words(status: RegistrationStatus) -> str:
    """What a registration's status is, in words (a refusal says why it stands in the way)."""
    match status:
        case RegistrationStatus.CONFIRMED:
            return _("is confirmed")
        case RegistrationStatus.WAITLISTED:
            return _("is on the waiting list")
        case RegistrationStatus.CANCELLED:
            return _("is cancelled")
        case RegistrationStatus.ATTENDED:
            return _("is checked in: the party came")
        case RegistrationStatus.NO_SHOW:
            return _("is marked as not come")


def _not_active(registration: Registration) -> errors.Conflict:
    return errors.Conflict(
        _("the registration is not active"),
        fields={"status": status_words(RegistrationStatus(registration.status))},
    )


def _too_many(most: int) -> str:
    return ngettext(
        "at most %(num)s person may register at once",
        "at most %(num)s people may register together",
        most,
    )


class Closed(errors.Conflict):
    """Registration is not open (yet, or any more) for this occurrence."""


class Full(errors.Conflict):
    """Not enough places for the party, and no waitlist to join."""


@dataclass(frozen=True)
class Places:
    original_start: dt.datetime | None
    capacity: int | None
    confirmed: int
    waitlisted: int
    open: bool
    reason: str | None
    # Whether the occurrence asked about is one of the event's.
    known: bool = True

    @property
    def left(self) -> int | None:
        return None if self.capacity is None else max(self.capacity - self.confirmed, 0)


@dataclass(frozen=True)
class Outcome:
    """What a registration attempt did; ``registration`` is None when nothing was written
    (the honeypot was filled in, or the address holds a place already)."""

    registration: Registration | None
    status: RegistrationStatus | None


def parse_start(raw: str | None, field: str = "original_start") -> dt.datetime | None:
    if raw is None:
        return None
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None or not 1900 <= value.year <= 2200:
        raise errors.Invalid(
            {
                field: _(
                    "must be a UTC date-time such as %(example)s", example="2026-12-01T09:00:00Z"
                )
            }
        )
    return value.astimezone(dt.UTC)


async def lock(conn: BaseDBAsyncClient, event_id: int) -> RegistrationPolicy:
    """Take the event's registration lock (see the module's note); 404 if it takes none."""
    await begin_write(conn)
    if not 1 <= event_id <= MAX_ID:
        raise errors.NotFound("registration")
    if is_postgres(conn):
        # The event's row, as the scheduling service takes it: one lock order for both
        # (a registration's insert also waits on that row, for its foreign key).
        await conn.execute_query("SELECT id FROM event WHERE id = $1 FOR UPDATE", [event_id])
    policy = await RegistrationPolicy.filter(event_id=event_id).using_db(conn).first()
    if policy is None:
        raise errors.NotFound("registration")
    return policy


async def _occurrence(
    conn: BaseDBAsyncClient, event_id: int, original_start: dt.datetime
) -> Occurrence | None:
    return (
        await Occurrence.filter(event_id=event_id, original_start=original_start, stop_id=None)
        .using_db(conn)
        .first()
    )


async def _future_occurrences(
    conn: BaseDBAsyncClient, event_id: int, now: dt.datetime
) -> list[Occurrence]:
    return (
        await Occurrence.filter(event_id=event_id, stop_id=None, ends_at__gt=now, cancelled=False)
        .using_db(conn)
        .order_by("starts_at")
    )


async def _room_capacity(conn: BaseDBAsyncClient, room_id: int | None) -> int | None:
    if room_id is None:
        return None
    room = await Room.filter(id=room_id).using_db(conn).first()
    return room.capacity if room is not None else None


def _smallest(*values: int | None) -> int | None:
    known = [v for v in values if v is not None]
    return min(known) if known else None


async def capacity(
    conn: BaseDBAsyncClient, event: Event, occurrences: list[Occurrence | None]
) -> int | None:
    """The places of one occurrence (or, for a series, of its smallest coming one)."""
    overrides = {
        o.original_start: o.capacity
        for o in await CapacityOverride.filter(event_id=event.id).using_db(conn)
    }
    found: list[int | None] = []
    for occurrence in occurrences:
        if occurrence is None:
            continue
        room = await _room_capacity(conn, occurrence.room_id)  # type: ignore[attr-defined]
        own = overrides.get(occurrence.original_start, event.capacity)
        found.append(_smallest(own, room))
    if not found:
        return _smallest(event.capacity, await _room_capacity(conn, event.room_id))  # type: ignore[attr-defined]
    return _smallest(*found)


async def _taken(
    conn: BaseDBAsyncClient, event_id: int, original_start: dt.datetime | None
) -> tuple[int, int]:
    """(people holding places, people waiting) of one occurrence or the series."""
    totals: dict[str, int] = {}
    rows = (
        await Registration.filter(event_id=event_id, original_start=original_start)
        .using_db(conn)
        .annotate(people=Sum("party_size"))
        .group_by("status")
        .values("status", "people")
    )
    for row in rows:
        totals[str(row["status"])] = int(row["people"] or 0)
    holding = sum(totals.get(s.value, 0) for s in HOLDING)
    return holding, totals.get(RegistrationStatus.WAITLISTED.value, 0)


def _closing(policy: RegistrationPolicy, starts_at: dt.datetime) -> dt.datetime:
    closes = starts_at - dt.timedelta(minutes=policy.closes_before_minutes)
    return min(closes, policy.closes_at) if policy.closes_at is not None else closes


def _window(
    policy: RegistrationPolicy, event: Event, starts_at: dt.datetime | None, now: dt.datetime
) -> str | None:
    """Why registration is not open now, in the reader's words, or None."""
    tz = zone(event.timezone)
    if event.status == EventStatus.CANCELLED:
        return _("The event is cancelled.")
    if starts_at is None:
        return _("No date of this event is coming.")
    if policy.opens_at is not None and now < policy.opens_at:
        when = format_datetime(policy.opens_at.astimezone(tz), "medium")
        return _("Registration opens on %(when)s.", when=when)
    if now >= _closing(policy, starts_at):
        return _("Registration has closed.")
    return None


async def places(
    conn: BaseDBAsyncClient,
    event: Event,
    policy: RegistrationPolicy,
    original_start: dt.datetime | None,
    now: dt.datetime,
) -> Places:
    """The places of one occurrence (or the series), and whether registration is open."""
    occurrences: list[Occurrence | None]
    if original_start is not None:
        occurrence = await _occurrence(conn, event.id, original_start)
        occurrences = [occurrence]
        starts_at = None if occurrence is None or occurrence.cancelled else occurrence.starts_at
        if occurrence is not None and occurrence.cancelled:
            reason: str | None = _("This date is cancelled.")
        else:
            reason = _window(policy, event, starts_at, now)
    else:
        occurrences = list(await _future_occurrences(conn, event.id, now))
        starts_at = occurrences[0].starts_at if occurrences and occurrences[0] else None
        reason = _window(policy, event, starts_at, now)
    holding, waiting = await _taken(conn, event.id, original_start)
    return Places(
        original_start=original_start,
        capacity=await capacity(conn, event, occurrences),
        confirmed=holding,
        waitlisted=waiting,
        open=reason is None,
        reason=reason,
        known=occurrences != [None],
    )


async def link_expiry(
    conn: BaseDBAsyncClient, registration: Registration, now: dt.datetime
) -> dt.datetime:
    """When a registration's link stops working: when its data is erased."""
    query = Occurrence.filter(event_id=registration.event_id, stop_id=None).using_db(conn)  # type: ignore[attr-defined]
    if registration.original_start is not None:
        query = query.filter(original_start=registration.original_start)
    last = await query.order_by("-ends_at").first()
    end = last.ends_at if last is not None else now
    return max(end, now) + current().erase_after


async def _notify(
    conn: BaseDBAsyncClient,
    template: str,
    registration: Registration,
    event: Event,
    key: str,
    now: dt.datetime,
    *,
    attach: bool,
) -> None:
    when = await when_of(conn, registration, now)
    if when is None:
        return
    await send(
        conn,
        template,
        registration,
        event,
        when,
        key=key,
        link_expires=await link_expiry(conn, registration, now),
        attach=attach,
    )


async def when_of(
    conn: BaseDBAsyncClient, registration: Registration, now: dt.datetime
) -> When | None:
    """The occurrence a registration is for (for a series, its next one)."""
    if registration.original_start is not None:
        occurrence = await _occurrence(
            conn,
            registration.event_id,  # type: ignore[attr-defined]
            registration.original_start,
        )
    else:
        coming = await _future_occurrences(conn, registration.event_id, now)  # type: ignore[attr-defined]
        occurrence = coming[0] if coming else None
    if occurrence is None:
        return None
    return When(
        original_start=occurrence.original_start,
        starts_at=occurrence.starts_at,
        ends_at=occurrence.ends_at,
        room_id=occurrence.room_id,  # type: ignore[attr-defined]
        cancelled=occurrence.cancelled,
    )


async def _event(conn: BaseDBAsyncClient, event_id: int) -> Event:
    event = await Event.filter(id=event_id).using_db(conn).select_related("library").first()
    if event is None:
        raise errors.NotFound("event")
    return event


async def register(
    event_id: int,
    data: RegistrationIn | StaffRegistrationIn,
    *,
    language: str,
    by_staff: bool = False,
    now: dt.datetime | None = None,
) -> Outcome:
    """Register a party; confirmed if it fits, else waitlisted (see the module's note).

    A patron (not staff) whose address already holds a registration for the occurrence
    gets the same outcome as a new registration, and a reminder of their link by mail,
    so the answer tells nobody who is registered.
    """
    now = now or dt.datetime.now(dt.UTC)
    original_start = parse_start(data.original_start)
    if isinstance(data, RegistrationIn) and data.website:
        # The honeypot was filled in: a robot. Answered like anyone, nothing kept or sent.
        return Outcome(None, None)
    async with in_transaction("default") as conn:
        policy = await lock(conn, event_id)
        event = await _event(conn, event_id)
        if not by_staff and not publicity.is_public(event):
            raise errors.NotFound("event")
        scope = RegistrationScope(policy.scope)
        if scope == RegistrationScope.OCCURRENCE and original_start is None:
            # A one-off event has one date to register for; a series needs it named.
            dates = await Occurrence.filter(event_id=event_id, stop_id=None).using_db(conn).limit(2)
            if len(dates) != 1:
                raise errors.Invalid(
                    {"original_start": _("is required: say which date to register for")}
                )
            original_start = dates[0].original_start
        if scope == RegistrationScope.SERIES and original_start is not None:
            raise errors.Invalid(
                {"original_start": _("must be left out: this event registers for the whole series")}
            )
        seats = await places(conn, event, policy, original_start, now)
        if not seats.known:
            raise errors.Invalid({"original_start": _("is not a date of this event")})
        if not seats.open and not (by_staff and event.status != EventStatus.CANCELLED):
            raise Closed(
                seats.reason or _("Registration has closed."),
                fields={"registration": _("is closed")},
            )
        party = data.party_size
        if not by_staff and party > policy.max_party:
            raise errors.Invalid({"party_size": _too_many(policy.max_party)})
        if policy.asks_age_bands and not data.age_bands and not by_staff:
            raise errors.Invalid({"age_bands": _("is required for this event")})
        left = seats.left
        if seats.capacity is not None and party > seats.capacity:
            raise errors.Invalid(
                {
                    "party_size": _(
                        "is larger than the %(places)s places of this event",
                        places=seats.capacity,
                    )
                }
            )
        if left is None or party <= left:
            status = RegistrationStatus.CONFIRMED
        elif left > 0:
            raise Full(
                ngettext("Only %(num)s place is left.", "Only %(num)s places are left.", left),
                fields={"party_size": _("only %(left)s of the places are left", left=left)},
            )
        elif policy.waitlist:
            status = RegistrationStatus.WAITLISTED
        else:
            raise Full(_("No places are left."), fields={"party_size": _("no places are left")})
        email = data.email
        if not by_staff and email is not None:
            existing = (
                await Registration.filter(
                    event_id=event_id,
                    original_start=original_start,
                    status__in=list(ACTIVE),
                    email=email.lower(),
                )
                .using_db(conn)
                .select_related("library")
                .first()
            )
            if existing is not None:
                day = now.date().isoformat()
                await _notify(
                    conn, "registration_exists", existing, event, f"exists:{existing.id}:{day}",
                    now, attach=False,
                )  # fmt: skip
                return Outcome(None, None)
        registration = await Registration.create(
            event_id=event_id,
            library_id=event.library_id,  # type: ignore[attr-defined]
            original_start=original_start,
            status=status,
            party_size=party,
            age_bands=dict(data.age_bands or {}),
            name=data.name,
            email=email.lower() if email is not None else None,
            language=language,
            secret=secrets.token_urlsafe(18),
            registered_by_staff=by_staff,
            created_at=now,
            updated_at=now,
            using_db=conn,
        )
        registration.library = event.library
        template = (
            "registration_confirmed"
            if status == RegistrationStatus.CONFIRMED
            else "registration_waitlisted"
        )
        await _notify(
            conn,
            template,
            registration,
            event,
            f"registered:{registration.id}",
            now,
            attach=status == RegistrationStatus.CONFIRMED,
        )
    return Outcome(registration, status)


async def promote(
    conn: BaseDBAsyncClient,
    event: Event,
    policy: RegistrationPolicy,
    original_start: dt.datetime | None,
    now: dt.datetime,
) -> list[Registration]:
    """Confirm waiting parties, in order of arrival, while their whole party fits."""
    seats = await places(conn, event, policy, original_start, now)
    if seats.reason is not None and seats.reason != _("Registration has closed."):
        return []
    left = seats.left
    promoted: list[Registration] = []
    waiting = (
        await Registration.filter(
            event_id=event.id,
            original_start=original_start,
            status=RegistrationStatus.WAITLISTED,
        )
        .using_db(conn)
        .select_related("library")
        .order_by("created_at", "id")
    )
    for registration in waiting:
        if left is not None and registration.party_size > left:
            continue
        registration.status = RegistrationStatus.CONFIRMED
        registration.updated_at = now
        await registration.save(using_db=conn, update_fields=["status", "updated_at"])
        if left is not None:
            left -= registration.party_size
        await _notify(
            conn, "registration_promoted", registration, event, f"promoted:{registration.id}",
            now, attach=True,
        )  # fmt: skip
        promoted.append(registration)
    return promoted


async def _registration(conn: BaseDBAsyncClient, registration_id: int) -> Registration:
    registration = (
        await Registration.filter(id=registration_id)
        .using_db(conn)
        .select_related("library")
        .first()
    )
    if registration is None:
        raise errors.NotFound("registration")
    return registration


async def _locked(
    conn: BaseDBAsyncClient, registration_id: int
) -> tuple[Registration, RegistrationPolicy]:
    """The registration read again under its event's registration lock (it may have changed
    while the lock was awaited), with the event's policy."""
    registration = await _registration(conn, registration_id)
    policy = await lock(conn, registration.event_id)  # type: ignore[attr-defined]
    return await _registration(conn, registration_id), policy


async def by_link(token: str, *, now: dt.datetime | None = None) -> Registration:
    """The registration a signed link opens (:class:`links.LinkInvalid` /
    :class:`links.LinkExpired` otherwise)."""
    link = links.read(current().secret_key, token, now=now)
    registration = (
        await Registration.filter(id=link.registration).select_related("library", "event").first()
    )
    if registration is None or not links.matches(link, registration.secret):
        raise links.LinkInvalid
    return registration


async def cancel(registration_id: int, *, now: dt.datetime | None = None) -> Registration:
    """Give up a place (or a place in the queue); whoever waits next and fits moves up."""
    now = now or dt.datetime.now(dt.UTC)
    async with in_transaction("default") as conn:
        registration, policy = await _locked(conn, registration_id)
        if registration.status not in ACTIVE:
            raise _not_active(registration)
        event = await _event(conn, registration.event_id)  # type: ignore[attr-defined]
        held = registration.status == RegistrationStatus.CONFIRMED
        registration.status = RegistrationStatus.CANCELLED
        registration.updated_at = registration.decided_at = now
        await registration.save(using_db=conn, update_fields=["status", "updated_at", "decided_at"])
        await _notify(
            conn, "registration_cancelled", registration, event,
            f"cancelled:{registration.id}", now, attach=False,
        )  # fmt: skip
        if held:
            await promote(conn, event, policy, registration.original_start, now)
    return registration


async def change(
    registration_id: int, data: RegistrationChange, *, now: dt.datetime | None = None
) -> Registration:
    """Change the name or the party of a registration; a larger party must fit."""
    now = now or dt.datetime.now(dt.UTC)
    async with in_transaction("default") as conn:
        registration, policy = await _locked(conn, registration_id)
        if registration.status not in ACTIVE:
            raise _not_active(registration)
        event = await _event(conn, registration.event_id)  # type: ignore[attr-defined]
        if data.name is not None:
            registration.name = data.name
        party = data.party_size if data.party_size is not None else registration.party_size
        bands = data.age_bands if data.age_bands is not None else registration.age_bands
        if bands and sum(bands.values()) != party:
            raise errors.Invalid(
                {"age_bands": _("must add up to the party size (%(party)s)", party=party)}
            )
        if party > policy.max_party:
            raise errors.Invalid({"party_size": _too_many(policy.max_party)})
        grows = party - registration.party_size
        if grows > 0 and registration.status == RegistrationStatus.CONFIRMED:
            seats = await places(conn, event, policy, registration.original_start, now)
            if seats.left is not None and grows > seats.left:
                raise Full(
                    ngettext(
                        "Only %(num)s place is left.", "Only %(num)s places are left.", seats.left
                    ),
                    fields={
                        "party_size": _(
                            "only %(left)s more of the places are left", left=seats.left
                        )
                    },
                )
        registration.party_size = party
        registration.age_bands = dict(bands or {})
        registration.updated_at = now
        await registration.save(using_db=conn)
        if grows < 0 and registration.status == RegistrationStatus.CONFIRMED:
            await promote(conn, event, policy, registration.original_start, now)
    return registration


async def erase_rows(conn: BaseDBAsyncClient, ids: list[int], now: dt.datetime) -> int:
    """Empty the personal fields of registrations and of their notices; counts stay."""
    if not ids:
        return 0
    count = (
        await Registration.filter(id__in=ids, erased_at__isnull=True)
        .using_db(conn)
        .update(name=None, email=None, secret=None, erased_at=now, updated_at=now)
    )
    await erase_copies(Notice.filter(registration_id__in=ids).using_db(conn))
    return int(count)


async def erase(registration_id: int, *, now: dt.datetime | None = None) -> None:
    """Erase one registration's personal data now (the patron asked, through the link).

    A confirmed or waiting registration is cancelled first, so its place goes to the
    next in line; the counts stay.
    """
    now = now or dt.datetime.now(dt.UTC)
    async with in_transaction("default") as conn:
        registration, policy = await _locked(conn, registration_id)
        held = registration.status == RegistrationStatus.CONFIRMED
        if registration.status in ACTIVE:
            registration.status = RegistrationStatus.CANCELLED
            registration.decided_at = now
            await registration.save(using_db=conn, update_fields=["status", "decided_at"])
        await erase_rows(conn, [registration.id], now)
        if held:
            event = await _event(conn, registration.event_id)  # type: ignore[attr-defined]
            await promote(conn, event, policy, registration.original_start, now)


def _bands(registration: Registration) -> dict[str, int]:
    if registration.age_bands:
        return {band: n for band, n in registration.age_bands.items() if n}
    return {AgeBand.UNKNOWN.value: registration.party_size}


async def _count(
    conn: BaseDBAsyncClient, registration: Registration, sign: int, now: dt.datetime
) -> None:
    """Add (or take back) a party to the occurrence's on-site attendance counts."""
    for band, people in _bands(registration).items():
        row = (
            await Attendance.filter(
                event_id=registration.event_id,  # type: ignore[attr-defined]
                original_start=registration.original_start,
                stop_id=None,
                age_band=band,
                mode=AttendanceMode.ON_SITE,
            )
            .using_db(conn)
            .first()
        )
        if row is None:
            row = Attendance(
                event_id=registration.event_id,  # type: ignore[attr-defined]
                library_id=registration.library_id,  # type: ignore[attr-defined]
                original_start=registration.original_start,
                stop_id=None,
                age_band=band,
                mode=AttendanceMode.ON_SITE,
                count=0,
            )
        row.count = max(row.count + sign * people, 0)
        row.recorded_at = now
        await row.save(using_db=conn)


async def check_in(
    registration_id: int, status: str, *, now: dt.datetime | None = None
) -> Registration:
    """Mark a party as come (its people join the attendance counts), absent (counted as a
    no-show), or expected again (undoing either)."""
    now = now or dt.datetime.now(dt.UTC)
    wanted = RegistrationStatus(status)
    async with in_transaction("default") as conn:
        registration, _policy = await _locked(conn, registration_id)
        if registration.original_start is None:
            raise errors.Invalid(
                {"registration": _("a series registration is counted by the attendance form")}
            )
        allowed = (
            RegistrationStatus.CONFIRMED,
            RegistrationStatus.ATTENDED,
            RegistrationStatus.NO_SHOW,
        )
        if registration.status not in allowed:
            raise errors.Conflict(
                _("only a confirmed party can be checked in"),
                fields={"status": status_words(RegistrationStatus(registration.status))},
            )
        occurrence = await _occurrence(
            conn,
            registration.event_id,  # type: ignore[attr-defined]
            registration.original_start,
        )
        if occurrence is None or occurrence.cancelled:
            raise errors.Conflict(
                _("the occurrence is cancelled"), fields={"registration": _("nobody can attend")}
            )
        event = await _event(conn, registration.event_id)  # type: ignore[attr-defined]
        tz = zone(event.timezone)
        if now.astimezone(tz).date() < occurrence.starts_at.astimezone(tz).date():
            raise errors.Conflict(
                _("check-in opens on the day"),
                fields={"status": _("the occurrence is not today yet")},
            )
        before = RegistrationStatus(registration.status)
        if before == wanted:
            return registration
        if before == RegistrationStatus.ATTENDED:
            await _count(conn, registration, -1, now)
        if wanted == RegistrationStatus.ATTENDED:
            await _count(conn, registration, +1, now)
        registration.status = wanted
        registration.decided_at = None if wanted == RegistrationStatus.CONFIRMED else now
        registration.updated_at = now
        await registration.save(using_db=conn, update_fields=["status", "decided_at", "updated_at"])
    return registration


async def set_policy(
    event_id: int, data: PolicyIn, *, now: dt.datetime | None = None
) -> RegistrationPolicy:
    """Open (or change) registration for an event."""
    now = now or dt.datetime.now(dt.UTC)
    opens_at = parse_start(data.opens_at, "opens_at")
    closes_at = parse_start(data.closes_at, "closes_at")
    if opens_at is not None and closes_at is not None and closes_at <= opens_at:
        raise errors.Invalid({"closes_at": _("must be after opens_at")})
    async with in_transaction("default") as conn:
        await begin_write(conn)
        event = await _event(conn, event_id)
        existing = await RegistrationPolicy.filter(event_id=event_id).using_db(conn).first()
        if existing is not None and existing.scope != data.scope:
            taken = await Registration.filter(event_id=event_id).using_db(conn).exists()
            if taken:
                raise errors.Conflict(
                    "registrations exist", fields={"scope": "cannot change once people registered"}
                )
        values = {
            "scope": data.scope,
            "opens_at": opens_at,
            "closes_at": closes_at,
            "closes_before_minutes": data.closes_before_minutes,
            "max_party": data.max_party,
            "asks_age_bands": data.asks_age_bands,
            "waitlist": data.waitlist,
            "updated_at": now,
        }
        policy, _created = await RegistrationPolicy.update_or_create(
            event_id=event.id, defaults=values, using_db=conn
        )
    return policy


async def set_capacity(
    event_id: int, original_start: dt.datetime, value: int | None, *, now: dt.datetime | None = None
) -> None:
    """Give one occurrence its own number of places (``None``: the event's again); places
    freed go to the waitlist."""
    now = now or dt.datetime.now(dt.UTC)
    async with in_transaction("default") as conn:
        policy = await lock(conn, event_id)
        event = await _event(conn, event_id)
        if await _occurrence(conn, event_id, original_start) is None:
            raise errors.NotFound("occurrence")
        await (
            CapacityOverride.filter(event_id=event_id, original_start=original_start)
            .using_db(conn)
            .delete()
        )
        if value is not None:
            await CapacityOverride.create(
                event_id=event_id, original_start=original_start, capacity=value, using_db=conn
            )
        scope_start = original_start if policy.scope == RegistrationScope.OCCURRENCE else None
        await promote(conn, event, policy, scope_start, now)
