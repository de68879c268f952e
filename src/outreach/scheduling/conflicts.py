"""Double bookings of a room, a staff member or a vehicle, found with one SQL query.

The check runs in the transaction of the write, after the event's occurrences have
been rebuilt, and against the materialised ``occurrence`` table: recurring series and
moved single occurrences alike are rows there, so no series is expanded to check. A room
is also held by an approved room request that stayed internal and was not withdrawn
(``room_request``, see ``outreach.rooms``); one made public is an event, held like any other.

Two simultaneous writes cannot both pass: :func:`lock_resources` serialises writers that
want the same room, staff member or vehicle (PostgreSQL: transaction-scoped advisory
locks; SQLite: the database's single write lock taken before anything is read).

An event's own occurrences do not conflict with each other here: a series may run back to
back, or longer than its interval, and one occurrence may be moved to overlap the next.
What is refused is an occurrence moved onto the very instants of another occurrence of its
event (:func:`find_coinciding`): the same room and people booked twice at once, and two
instances at one instant in every feed.

A refusal names the other booking only to a reader who may see it (:func:`nameable`):
conflicts are found across libraries (a staff member works in several), and a title in
an error would tell an editor of one library about another's drafts and internal events.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient

from outreach import publicity
from outreach.db import instant
from outreach.i18n import INTERFACE_LANGUAGES, gettext, speaking
from outreach.models import Event, Library, Role, RoleName, StaffUser
from outreach.models.rooms import RoomRequestStatus
from outreach.scheduling.payload import MAX_DURATION
from outreach.sql import dialect, fetch, is_postgres, positional

# Advisory lock name spaces: the first key of pg_advisory_xact_lock(int, int).
ROOM, STAFF, VEHICLE = 1, 2, 3
_RESOURCES = {ROOM: "room", STAFF: "staff", VEHICLE: "vehicle"}
MAX_REPORTED = 20
APPROVED = RoomRequestStatus.APPROVED.value


@dataclass(frozen=True)
class Conflict:
    """An occurrence of another event, or an approved room request (``booking_id``, then
    ``event_id`` is None), that holds the same resource at an overlapping time."""

    event_id: int | None
    starts_at: dt.datetime
    ends_at: dt.datetime
    resource: str
    resource_id: int
    booking_id: int | None = None


def booking_title() -> dict[str, str]:
    """What a conflict with a room request calls it, in every interface language (its
    purpose is the requester's own words, which no conflict message repeats)."""
    titles = {}
    for lang in INTERFACE_LANGUAGES:
        with speaking(lang):
            titles[lang] = gettext("a booking of the room (an approved room request)")
    return titles


async def seen_libraries(conn: BaseDBAsyncClient, reader: StaffUser | None) -> set[int]:
    """The libraries whose drafts and internal items ``reader`` sees: those where they hold
    a role, and every library of a network they coordinate."""
    if reader is None:
        return set()
    roles = await Role.filter(user_id=reader.id).using_db(conn)
    libraries = {r.library_id for r in roles if r.library_id is not None}  # type: ignore[attr-defined]
    networks = [r.network_id for r in roles if r.role == RoleName.COORDINATOR]  # type: ignore[attr-defined]
    if networks:
        members = await Library.filter(network_id__in=networks).using_db(conn).values_list("id")
        libraries |= {int(row[0]) for row in members}
    return libraries


async def nameable(
    conn: BaseDBAsyncClient, reader: StaffUser | None, event_ids: Iterable[int]
) -> dict[int, Event]:
    """The events among ``event_ids`` that a conflict may name to ``reader`` (None: nobody
    signed in), by id: public ones (:mod:`outreach.publicity`) and those of a library
    whose staff side the reader sees. Any other is "another booking": its title, kind and
    id stay unsaid, its resource and times are still told, so staff know what to move."""
    wanted = set(event_ids)
    if not wanted:
        return {}
    events = await Event.filter(id__in=wanted).using_db(conn)
    seen = await seen_libraries(conn, reader)
    return {
        event.id: event
        for event in events
        if publicity.is_public(event) or event.library_id in seen  # type: ignore[attr-defined]
    }


async def begin_write(conn: BaseDBAsyncClient) -> None:
    """Make a SQLite transaction a writer now; call it as the transaction's first statement.

    Tortoise opens SQLite transactions with a deferred BEGIN, which takes the write lock
    only at the first write, and in WAL mode a transaction that read before another
    process committed could then not write at all. Writing first gives BEGIN IMMEDIATE
    semantics: no other process writes between our check and our insert. PostgreSQL
    needs nothing here (see :func:`lock_resources`).
    """
    if not is_postgres(conn):
        await conn.execute_query("UPDATE data_version SET version = version WHERE 1 = 0")


async def lock_resources(conn: BaseDBAsyncClient, resources: Iterable[tuple[int, int]]) -> None:
    """Serialise this transaction against others that book any of ``resources``.

    ``resources`` are ``(ROOM|STAFF|VEHICLE, id)`` pairs. Call it before anything is
    checked: on PostgreSQL it takes transaction-scoped advisory locks, on SQLite the
    database's single write lock (:func:`begin_write`), which must come first in the
    transaction.
    """
    if is_postgres(conn):
        # Sorted, so that two writers wanting the same resources never deadlock.
        for kind, ident in sorted(set(resources)):
            await conn.execute_query("SELECT pg_advisory_xact_lock($1, $2)", [kind, ident])
    else:
        await begin_write(conn)


def overlap_query(postgres: bool) -> str:
    days = MAX_DURATION.days
    # Nothing that started more than MAX_DURATION before an occurrence can still be running,
    # which bounds the index range scan on (room_id, starts_at) from below.
    if postgres:
        lower = f"n.starts_at - INTERVAL '{days} days'"
    else:
        lower = f"strftime('%Y-%m-%d %H:%M:%S', n.starts_at, '-{days} days')"
    overlap = f"o.starts_at < n.ends_at AND o.ends_at > n.starts_at AND o.starts_at > {lower}"
    mine = "n.event_id = :event AND NOT n.cancelled"
    booked = overlap.replace("o.", "b.")
    return f"""
        SELECT o.event_id, o.starts_at, o.ends_at, {ROOM} AS resource, o.room_id AS resource_id,
            NULL AS booking_id
        FROM occurrence n JOIN occurrence o ON o.room_id = n.room_id AND {overlap}
        WHERE {mine} AND n.room_id IS NOT NULL AND o.event_id <> n.event_id AND NOT o.cancelled
        UNION ALL
        SELECT NULL, b.starts_at, b.ends_at, {ROOM}, b.room_id, b.id
        FROM occurrence n JOIN room_request b ON b.room_id = n.room_id AND {booked}
        WHERE {mine} AND n.room_id IS NOT NULL AND b.status = '{APPROVED}' AND b.event_id IS NULL
            AND b.withdrawn_at IS NULL
        UNION ALL
        SELECT o.event_id, o.starts_at, o.ends_at, {VEHICLE}, o.vehicle_id, NULL
        FROM occurrence n JOIN occurrence o ON o.vehicle_id = n.vehicle_id AND {overlap}
        WHERE {mine} AND n.vehicle_id IS NOT NULL AND o.event_id <> n.event_id
            AND NOT o.cancelled
        UNION ALL
        SELECT o.event_id, o.starts_at, o.ends_at, {STAFF}, theirs.staffuser_id, NULL
        FROM occurrence n
        JOIN event_staff ours ON ours.event_id = n.event_id
        JOIN event_staff theirs
            ON theirs.staffuser_id = ours.staffuser_id AND theirs.event_id <> n.event_id
        JOIN occurrence o ON o.event_id = theirs.event_id AND {overlap}
        WHERE {mine} AND NOT o.cancelled
        ORDER BY 2, 1, 6
        LIMIT {MAX_REPORTED}
    """


async def find_conflicts(conn: BaseDBAsyncClient, event_id: int) -> list[Conflict]:
    """Occurrences of other events that collide with the (rebuilt) occurrences of one event."""
    name = dialect(conn)
    text, values = positional(overlap_query(name == "postgres"), {"event": event_id}, name)
    rows = await conn.execute_query_dict(text, values)
    conflicts: list[Conflict] = []
    seen: set[tuple[int | None, int | None, dt.datetime, int]] = set()
    for row in rows:
        event = None if row["event_id"] is None else int(row["event_id"])
        booking = None if row["booking_id"] is None else int(row["booking_id"])
        key = (event, booking, instant(row["starts_at"]), int(row["resource"]))
        if key in seen:
            continue
        seen.add(key)
        conflicts.append(
            Conflict(
                event_id=event,
                starts_at=key[2],
                ends_at=instant(row["ends_at"]),
                resource=_RESOURCES[key[3]],
                resource_id=int(row["resource_id"]),
                booking_id=booking,
            )
        )
    return conflicts


@dataclass(frozen=True)
class Coincidence:
    """A moved occurrence (by its original start) at the very instants of another
    occurrence of the same event, and those instants."""

    original_start: dt.datetime
    starts_at: dt.datetime
    ends_at: dt.datetime


# Only an occurrence given times of its own (an override with a start and end) is checked
# against the others, and only for the very same start and end: a series' own instances
# may run back to back or overlap where it is meant to (a run of days repeated daily), and
# a move may overlap a neighbour on purpose (a longer session the day before another).
_COINCIDING = """
    SELECT n.original_start, n.starts_at, n.ends_at
    FROM occurrence n
    JOIN occurrence_override moved ON moved.event_id = n.event_id
        AND moved.original_start = n.original_start AND moved.starts_at IS NOT NULL
    JOIN occurrence o ON o.event_id = n.event_id AND o.id <> n.id
        AND o.starts_at = n.starts_at AND o.ends_at = n.ends_at
    WHERE n.event_id = :event AND NOT n.cancelled AND NOT o.cancelled
    ORDER BY n.starts_at, n.original_start
    LIMIT 1
"""


async def find_coinciding(conn: BaseDBAsyncClient, event_id: int) -> Coincidence | None:
    """The first moved occurrence of one (rebuilt) event that is at the very instants of
    another of its occurrences, if any: moved onto another date of its series, or met by
    an instance that a changed rule or a removed exdate brings back."""
    rows = await fetch(_COINCIDING, {"event": event_id}, connection=conn)
    if not rows:
        return None
    row = rows[0]
    return Coincidence(
        original_start=instant(row["original_start"]),
        starts_at=instant(row["starts_at"]),
        ends_at=instant(row["ends_at"]),
    )
