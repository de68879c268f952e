"""Event service: every change is one transaction that checks, writes and records.

Each function validates its payload, locks the rooms, staff and vehicle it books,
writes, bumps the event's revision and ``updated_at``, rebuilds the occurrences, refuses
double bookings (409), writes an audit entry and bumps the data version, all in one
transaction: on any error nothing is written. Permissions are the caller's business
(``outreach.web.auth``): these functions trust the user they are given.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from outreach import errors, i18n
from outreach.errors import NotFound
from outreach.i18n import gettext as _
from outreach.languages import translated
from outreach.models import (
    ApprovalRequest,
    Attendance,
    AuditEntry,
    Branch,
    Event,
    EventAudience,
    EventLanguage,
    EventStatus,
    EventTag,
    Goal,
    Library,
    Occurrence,
    OccurrenceOverride,
    Partner,
    Room,
    RoomRequest,
    StaffUser,
    Strategy,
    StrategyValue,
)
from outreach.models.bookmobile import Route
from outreach.registration import housekeeping as registrations
from outreach.scheduling import approval, approval_notices
from outreach.scheduling.conflicts import (
    ROOM,
    STAFF,
    VEHICLE,
    Coincidence,
    Conflict,
    begin_write,
    booking_title,
    find_coinciding,
    find_conflicts,
    lock_resources,
    nameable,
    seen_libraries,
)
from outreach.scheduling.occurrences import default_horizon_end, expand, rebuild_occurrences
from outreach.scheduling.payload import (
    MAX_DURATION,
    EventData,
    Problems,
    Times,
    absent_time,
    parse_fields,
    raise_problems,
    resolve_times,
)
from outreach.scheduling.recurrence import in_range, to_local, to_utc, zone
from outreach.scheduling.schemas import AttendanceIn, OccurrenceChange
from outreach.scheduling.serialise import PREFETCH, data_json, event_data, utc_iso
from outreach.schemas import validate
from outreach.versions import bump_data_version

MAX_COUNT = 100_000
MAX_ID = 2**31 - 1
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ConflictError(errors.Conflict):
    """The write would double-book a room, a staff member or a vehicle."""

    def __init__(self, conflicts: list[dict[str, Any]]) -> None:
        super().__init__("conflict", extra={"conflicts": conflicts})


class CoincidingOccurrence(errors.Conflict):
    """The write would put a moved occurrence at the very instants of another occurrence of
    its own event: its room and people booked twice at once, two instances at one instant
    in the feeds. ``field``: what the write changed that did it (``start`` for an
    occurrence, ``rrule`` or ``exdates`` for a series)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(
            "conflict",
            fields={field: message},
            extra={"codes": {field: errors.Code.OCCURRENCE_COINCIDES}},
        )


@dataclass
class EventResult:
    """The event after a write, and warnings that did not stop it."""

    event: Event
    warnings: list[dict[str, Any]] = field(default_factory=list)
    # The approval request a change waits in instead of being written.
    pending: ApprovalRequest | None = None
    # A held change that, merged into the pending one, left nothing to approve: the
    # event as published is what was asked for (the pending request is withdrawn).
    unchanged: bool = False


@dataclass(frozen=True)
class References:
    """The rows an event's payload names, checked to belong to its library."""

    branch: Branch | None
    room: Room | None
    partners: list[Partner]
    co_organisers: list[Library]
    staff: list[StaffUser]
    tags: list[tuple[Goal | None, StrategyValue | None, bool]]


def _check_id(event_id: int) -> None:
    # An id beyond the column's range cannot exist (and PostgreSQL would refuse to compare).
    if not 1 <= event_id <= MAX_ID:
        raise NotFound("event")


async def lock_event(conn: BaseDBAsyncClient, event_id: int) -> Event:
    """Start a write on one event: the transaction's write lock, then the event's row.

    Every writer here takes the event row before any resource lock, so two writers of
    one event never wait for each other in opposite orders.
    """
    await begin_write(conn)
    query = Event.filter(id=event_id).using_db(conn)
    if conn.capabilities.dialect == "postgres":
        query = query.select_for_update()
    event = await query.first()
    if event is None:
        raise NotFound("event")
    return event


async def load_event(event_id: int, using_db: BaseDBAsyncClient | None = None) -> Event:
    """An event with everything its JSON shows, or 404."""
    _check_id(event_id)
    event = await Event.filter(id=event_id).using_db(using_db).prefetch_related(*PREFETCH).first()
    if event is None:
        raise NotFound("event")
    return event


async def library_strategy_ids(
    library: Library, conn: BaseDBAsyncClient | None = None
) -> list[int]:
    """The strategies that apply to a library: its own and its network's."""
    condition = Q(library_id=library.id)
    if library.network_id is not None:  # type: ignore[attr-defined]
        condition |= Q(network_id=library.network_id)  # type: ignore[attr-defined]
    return [s.id for s in await Strategy.filter(condition).using_db(conn)]


async def _resolve(conn: BaseDBAsyncClient, library: Library, data: EventData) -> References:
    problems = Problems()
    # Each problem is named by its field (``room``, ``partners[2]``); the words name the
    # library, never repeat an id or a slug.
    owner = translated(library.name, i18n.current(), library.default_language)
    branch = None
    if data.branch is not None:
        branch = await Branch.filter(library_id=library.id, slug=data.branch).using_db(conn).first()
        if branch is None:
            problems.add(
                "branch",
                _("%(library)s has no such branch", library=owner),
            )
    room = None
    if data.room is not None:
        room = await Room.filter(id=data.room).using_db(conn).prefetch_related("branch").first()
        if room is None or room.branch.library_id != library.id:  # type: ignore[attr-defined]
            problems.add("room", _("%(library)s has no such room", library=owner))
            room = None
        elif branch is not None and room.branch.id != branch.id:
            problems.add(
                "room",
                _(
                    "room %(room)s is not in branch %(branch)s: choose a room of %(branch)s",
                    room=room.name,
                    branch=branch.name,
                ),
            )
        elif branch is None:
            branch = room.branch
    partners = await Partner.filter(library_id=library.id, slug__in=data.partners).using_db(conn)
    found = {p.slug for p in partners}
    for index, slug in enumerate(data.partners):
        if slug not in found:
            problems.add(
                f"partners[{index}]",
                _("%(library)s has no such partner", library=owner),
            )
    co_organisers = await Library.filter(slug__in=data.co_organisers).using_db(conn)
    found = {lib.slug for lib in co_organisers}
    for index, slug in enumerate(data.co_organisers):
        if slug == library.slug:
            problems.add(f"co_organisers[{index}]", _("is the organising library itself"))
        elif slug not in found:
            problems.add(f"co_organisers[{index}]", _("there is no such library"))
    staff = (
        await StaffUser.filter(id__in=data.staff, is_active=True, roles__library_id=library.id)
        .distinct()
        .using_db(conn)
    )
    found_ids = {user.id for user in staff}
    for index, ident in enumerate(data.staff):
        if ident not in found_ids:
            problems.add(
                f"staff[{index}]",
                _("is not an active staff member of %(library)s", library=owner),
            )
    tags = await _resolve_tags(conn, library, data, problems)
    if problems:
        raise_problems(problems)
    return References(branch, room, partners, co_organisers, staff, tags)


async def _resolve_tags(
    conn: BaseDBAsyncClient, library: Library, data: EventData, problems: Problems
) -> list[tuple[Goal | None, StrategyValue | None, bool]]:
    strategy_ids = await library_strategy_ids(library, conn)
    tags: list[tuple[Goal | None, StrategyValue | None, bool]] = []
    for index, tag in enumerate(data.tags):
        model = Goal if tag.kind == "goal" else StrategyValue
        query = model.filter(strategy_id__in=strategy_ids, code=tag.code)
        if tag.strategy is not None:
            query = query.filter(strategy__slug=tag.strategy)
        matches = await query.using_db(conn).limit(2)
        name = f"tags[{index}].{tag.kind}"
        if not matches:
            problems.add(
                name,
                (
                    _(
                        "no goal %(code)s in the strategies of %(library)s",
                        code=tag.code,
                        library=translated(library.name, i18n.current(), library.default_language),
                    )
                    if tag.kind == "goal"
                    else _(
                        "no value %(code)s in the strategies of %(library)s",
                        code=tag.code,
                        library=translated(library.name, i18n.current(), library.default_language),
                    )
                ),
            )
        elif len(matches) > 1:
            problems.add(
                name, _('%(code)r is in several strategies: add "strategy"', code=tag.code)
            )
        elif isinstance(matches[0], Goal):
            tags.append((matches[0], None, tag.primary))
        else:
            assert isinstance(matches[0], StrategyValue)
            tags.append((None, matches[0], tag.primary))
    if len({(g.id if g else None, v.id if v else None) for g, v, _ in tags}) != len(tags):
        problems.add("tags", _("names the same goal or value twice"))
    return tags


def _apply(event: Event, data: EventData, times: Times, refs: References) -> None:
    """Copy checked data onto the event's own columns."""
    event.kind = data.kind  # type: ignore[assignment]
    event.title = data.title
    event.description = data.description
    event.starts_at = times.starts_at
    event.ends_at = times.ends_at
    event.timezone = times.tz.key
    event.all_day = data.all_day
    event.rrule = times.rule.text if times.rule is not None else None
    event.exdates = times.exdates
    event.branch = refs.branch
    event.room = refs.room
    place = data.place
    event.place_name = place.name if place else ""
    event.place_address = place.address if place else ""
    event.lat = place.lat if place else None
    event.lon = place.lon if place else None
    event.format = data.format  # type: ignore[assignment]
    event.online_url = data.online_url
    event.capacity = data.capacity
    event.visibility = data.visibility  # type: ignore[assignment]


async def _write_related(
    conn: BaseDBAsyncClient, event: Event, data: EventData, refs: References
) -> None:
    """Replace the event's audiences, languages, tags and many-to-many sets."""
    await EventAudience.filter(event_id=event.id).using_db(conn).delete()
    await EventLanguage.filter(event_id=event.id).using_db(conn).delete()
    await EventTag.filter(event_id=event.id).using_db(conn).delete()
    for audience in data.audiences:
        await EventAudience.create(event=event, audience=audience, using_db=conn)
    for language in data.languages:
        await EventLanguage.create(event=event, language=language, using_db=conn)
    for goal, value, primary in refs.tags:
        await EventTag.create(event=event, goal=goal, value=value, primary=primary, using_db=conn)
    await event.partners.clear(using_db=conn)
    await event.co_organisers.clear(using_db=conn)
    await event.staff.clear(using_db=conn)
    if refs.partners:
        await event.partners.add(*refs.partners, using_db=conn)
    if refs.co_organisers:
        await event.co_organisers.add(*refs.co_organisers, using_db=conn)
    if refs.staff:
        await event.staff.add(*refs.staff, using_db=conn)


async def _resources(
    conn: BaseDBAsyncClient, event_id: int | None, refs: References
) -> set[tuple[int, int]]:
    """What an event books: its room, rooms of its overrides, its staff and its vehicle."""
    resources = {(STAFF, user.id) for user in refs.staff}
    if refs.room is not None:
        resources.add((ROOM, refs.room.id))
    if event_id is not None:
        overrides = await OccurrenceOverride.filter(
            event_id=event_id, room_id__not_isnull=True
        ).using_db(conn)
        resources |= {(ROOM, o.room_id) for o in overrides}  # type: ignore[attr-defined]
        route = await Route.filter(event_id=event_id).using_db(conn).first()
        if route is not None:
            resources.add((VEHICLE, route.vehicle_id))  # type: ignore[attr-defined]
    return resources


async def _check_conflicts(
    conn: BaseDBAsyncClient, event: Event, reader: StaffUser | None, *, field: str = "start"
) -> None:
    """Refuse the write (409) if the event's rebuilt occurrences book a room, person or
    vehicle that something else holds then, or a moved occurrence is at the very time of
    another of its own; ``field`` names what the write changed, for the latter."""
    conflicts = await find_conflicts(conn, event.id)
    if conflicts:
        raise ConflictError(await _conflicts_json(conn, conflicts, reader))
    coinciding = await find_coinciding(conn, event.id)
    if coinciding is not None:
        raise CoincidingOccurrence(field, coincidence_words(coinciding, zone(event.timezone)))


def coincidence_words(found: Coincidence, tz: ZoneInfo) -> str:
    """A moved occurrence at the very time of another of its event, in the current
    language: which occurrence (by its date in the series) and when the other is, local."""
    return _(
        "the occurrence of %(when)s would be at the very time of another occurrence of this"
        " event, %(other)s",
        when=approval_notices.when_words(to_local(found.original_start, tz)),
        other=approval_notices.when_words(
            to_local(found.starts_at, tz), to_local(found.ends_at, tz)
        ),
    )


async def _conflicts_json(
    conn: BaseDBAsyncClient, conflicts: list[Conflict], reader: StaffUser | None
) -> list[dict[str, Any]]:
    """The conflicts as the 409 lists them to ``reader``: the resource and the interval
    always; the other event's id and title only if the reader may see it
    (:func:`~outreach.scheduling.conflicts.nameable`), else ``event`` and ``title`` are
    null ("another booking"); a room request's id only to its library's staff."""
    events = await nameable(conn, reader, {c.event_id for c in conflicts if c.event_id})
    wanted = {c.booking_id for c in conflicts if c.booking_id is not None}
    seen = await seen_libraries(conn, reader) if wanted else set()
    bookings = {
        b.id
        for b in await RoomRequest.filter(id__in=wanted, library_id__in=list(seen) or [0])
        .using_db(conn)
        .only("id")
    }
    rows: list[dict[str, Any]] = []
    for c in conflicts:
        shown = events.get(c.event_id) if c.event_id is not None else None
        row: dict[str, Any] = {"event": None if shown is None else shown.id, "title": None}
        if shown is not None:
            row["title"] = shown.title
        elif c.booking_id in bookings:
            # A room request's purpose is its requester's words: only "a room booking" shows.
            row.update(title=booking_title(), booking=c.booking_id)
        row.update(
            start=utc_iso(c.starts_at),
            end=utc_iso(c.ends_at),
            resource=c.resource,
            resource_id=c.resource_id,
        )
        rows.append(row)
    return rows


def _within(hours: list[list[str]], start: dt.datetime, end: dt.datetime) -> bool:
    for opens, closes in hours:
        if opens <= start.strftime("%H:%M") and end.strftime("%H:%M") <= closes:
            return True
    return False


async def opening_hours_warnings(
    conn: BaseDBAsyncClient, event: Event, library: Library
) -> list[dict[str, Any]]:
    """Occurrences at a branch outside its opening hours: accepted, but worth a second look."""
    if event.all_day:
        return []
    tz = zone(library.timezone)
    occurrences = (
        # Only event_id in SQL: a condition on stop_id or branch_id can lead SQLite's
        # planner to scan every row of the table through their indexes.
        await Occurrence.filter(event_id=event.id, cancelled=False)
        .using_db(conn)
        .order_by("starts_at")
    )
    branches = {
        b.id: b
        for b in await Branch.filter(id__in={o.branch_id for o in occurrences}).using_db(conn)  # type: ignore[attr-defined]
    }
    outside: list[str] = []
    checked = 0
    for occurrence in occurrences:
        if occurrence.branch_id is None or occurrence.stop_id is not None:  # type: ignore[attr-defined]
            continue  # off-site, or a bookmobile stop
        branch = branches[occurrence.branch_id]  # type: ignore[attr-defined]
        if not branch.opening_hours:
            continue  # hours unknown: nothing to warn about
        checked += 1
        start, end = to_local(occurrence.starts_at, tz), to_local(occurrence.ends_at, tz)
        hours = branch.opening_hours.get(_WEEKDAYS[start.weekday()], [])
        if start.date() != end.date() or not _within(hours, start, end):
            outside.append(start.isoformat())
    if not outside:
        return []
    return [
        {
            "warning": "outside_opening_hours",
            "message": f"{len(outside)} of {checked} occurrences fall outside the"
            " opening hours of their branch",
            "count": len(outside),
            "checked": checked,
            "occurrences": outside[:10],
        }
    ]


async def _audit(
    conn: BaseDBAsyncClient,
    user: StaffUser | None,
    event: Event,
    action: str,
    changes: dict[str, Any],
) -> None:
    await AuditEntry.record(
        conn,
        user=user,
        library_id=event.library_id,  # type: ignore[attr-defined]
        action=action,
        entity="event",
        entity_id=event.id,
        changes=changes,
    )


def _diff(before: EventData, after: EventData) -> dict[str, Any]:
    old, new = data_json(before), data_json(after)
    return {name: [old[name], new[name]] for name in new if old[name] != new[name]}


async def create_event(
    library: Library, payload: object, *, user: StaffUser | None, approver: bool = True
) -> EventResult:
    """Create an event from a POST body (without ``library``): 201 material.

    ``approver``: whether ``user`` may approve in the library (a director); where its
    library asks for approval, only an approver creates an event published.
    """
    data = EventData(**parse_fields(payload, partial=False))
    approval.check_publishing(library, data.status, approver=approver)
    times = resolve_times(
        data, library_timezone=library.timezone, horizon_end=default_horizon_end()
    )
    async with in_transaction("default") as conn:
        await begin_write(conn)
        refs = await _resolve(conn, library, data)
        await lock_resources(conn, await _resources(conn, None, refs))
        now = dt.datetime.now(dt.UTC)
        event = Event(library=library, status=data.status, updated_at=now, created_by=user)
        event.approval = approval.state_when_published(library, data.status)
        _apply(event, data, times, refs)
        await event.save(using_db=conn)
        await _write_related(conn, event, data, refs)
        await rebuild_occurrences(event, using_db=conn)
        await _check_conflicts(conn, event, user)
        warnings = await opening_hours_warnings(conn, event, library)
        await _audit(conn, user, event, "create", {"event": data_json(data)})
        await bump_data_version(using_db=conn)
    return EventResult(await load_event(event.id), warnings)


def _check_revision(payload: Mapping[str, Any], event: Event) -> None:
    if "revision" not in payload:
        return
    revision = payload["revision"]
    if not isinstance(revision, int) or isinstance(revision, bool):
        raise_problems({"revision": _("must be a whole number")})
    if revision != event.revision:
        raise errors.Conflict(
            _("stale revision"),
            fields={
                "revision": _(
                    "the event is at revision %(current)s, not %(given)s",
                    current=event.revision,
                    given=revision,
                )
            },
        )


async def update_event(
    event_id: int,
    payload: object,
    *,
    user: StaffUser | None,
    approver: bool = True,
    base_url: str = "",
) -> EventResult:
    """Change some fields of an event (PATCH semantics); ``revision``, if given, must match.

    ``approver`` as for :func:`create_event`. Where the library has directors approve
    every change, a change by someone else to a published event is not written: it waits
    in the event's approval request (``EventResult.pending``, amended if one waits; see
    :mod:`outreach.scheduling.approval`) and the public keeps the approved version.
    ``base_url``: where the staff pages are, for the links in the directors' notices.
    """
    _check_id(event_id)
    if not isinstance(payload, dict):
        raise_problems({"body": "must be a JSON object"})
    body = {k: v for k, v in payload.items() if k not in ("revision", "library")}
    fields = parse_fields(body, partial=True)
    async with in_transaction("default") as conn:
        await lock_event(conn, event_id)
        event = await load_event(event_id, conn)
        if "library" in payload and payload["library"] != event.library.slug:
            raise_problems({"library": "cannot be changed; create the event in the other library"})
        _check_revision(payload, event)
        if "status" in fields and fields["status"] != event.status.value:
            # Only publishing needs a director; a published event's form keeps its status.
            approval.check_publishing(event.library, fields["status"], approver=approver)
        if not approver and approval.change_needs_approval(event):
            return await _hold_event_change(conn, event, body, user=user, base_url=base_url)
        warnings = await apply_update(conn, event, fields, user=user)
    return EventResult(await load_event(event_id), warnings)


class _TrialDone(Exception):
    """Rolls a trial write back (see :func:`_try_held`)."""


async def _try_held(
    conn: BaseDBAsyncClient,
    event_id: int,
    changes: dict[str, Any],
    occurrences: dict[str, dict[str, Any]],
    user: StaffUser | None,
) -> None:
    """Write a held change as its approval would, check it (conflicts included), and roll
    it back: a savepoint of the caller's transaction. ``user`` reads its refusals (what a
    conflict may name); nothing the trial writes in their name is kept."""
    try:
        async with in_transaction("default"):
            trial = await load_event(event_id, conn)
            await apply_held(conn, trial, changes, occurrences, user=user)
            raise _TrialDone
    except _TrialDone:
        pass


SCHEDULE_FIELDS = {"start", "end", "all_day", "timezone", "rrule", "exdates"}
# The field a refusal of the event's new dates is told under: the first it changed.
SCHEDULE_ORDER = ("rrule", "exdates", "start", "end", "all_day", "timezone")


def _schedule_differs(event: Event, after: EventData) -> bool:
    """Whether ``after`` gives the event other dates, times or zone than it has."""
    horizon = default_horizon_end()
    times = resolve_times(after, library_timezone=event.library.timezone, horizon_end=horizon)
    if times.tz.key != event.timezone:
        return True
    trial = copy.copy(event)
    trial.starts_at, trial.ends_at = times.starts_at, times.ends_at
    trial.all_day = after.all_day
    trial.rrule = times.rule.text if times.rule is not None else None
    trial.exdates = times.exdates
    spans = [(i.starts_at, i.ends_at) for i in expand(event, horizon_end=horizon)]
    return spans != [(i.starts_at, i.ends_at) for i in expand(trial, horizon_end=horizon)]


async def _hold_event_change(
    conn: BaseDBAsyncClient,
    event: Event,
    body: dict[str, Any],
    *,
    user: StaffUser | None,
    base_url: str,
) -> EventResult:
    """Merge a change of the event's fields into its held change and keep that for a
    director; the fields that equal the published ones drop out of it."""
    pending = await approval.pending_change(conn, event.id)
    merged = {**(pending.changes if pending is not None else {}), **body}
    fields = parse_fields(merged, partial=True)
    current = event_data(event)
    now_json = data_json(current)
    after_json = data_json(dataclasses.replace(current, **fields))
    after = dataclasses.replace(current, **fields)
    changes = {
        name: merged[name]
        for name in fields
        if not approval.same_value(name, now_json[name], after_json[name])
    }
    if set(changes) & SCHEDULE_FIELDS and not _schedule_differs(event, after):
        # The form writes a rule out in full (BYDAY=WE of a weekly rule starting on a
        # Wednesday): the same dates are no change.
        changes = {name: value for name, value in changes.items() if name not in SCHEDULE_FIELDS}
    occurrences = dict(pending.occurrences or {}) if pending is not None else {}
    return await _hold(conn, event, pending, changes, occurrences, now_json, user, base_url)


async def _hold(
    conn: BaseDBAsyncClient,
    event: Event,
    pending: ApprovalRequest | None,
    changes: dict[str, Any],
    occurrences: dict[str, dict[str, Any]],
    now_json: dict[str, Any],
    user: StaffUser | None,
    base_url: str,
) -> EventResult:
    if pending is not None:
        stale = await approval.stale_parts(conn, pending, now_json)
        if stale:
            raise errors.Conflict(
                "stale change",
                fields={"revision": await approval_notices.stale_words(conn, event, stale)},
            )
    if changes or occurrences:
        await _try_held(conn, event.id, changes, occurrences, user)
    request = await approval.save_held(
        conn,
        event,
        pending,
        changes=changes,
        occurrences=occurrences,
        event_now=now_json,
        user=user,
    )
    if request is None:
        return EventResult(event, unchanged=True)
    if pending is None:
        await approval_notices.tell_approvers(conn, event, request, user, base_url)
    return EventResult(event, pending=request)


async def apply_held(
    conn: BaseDBAsyncClient,
    event: Event,
    changes: dict[str, Any],
    occurrences: dict[str, dict[str, Any]],
    *,
    user: StaffUser | None,
) -> list[dict[str, Any]]:
    """Write a held change to a locked, loaded event in the caller's transaction: its
    fields, then each occurrence's change in the order of their original starts."""
    warnings: list[dict[str, Any]] = []
    if changes:
        warnings = await apply_update(conn, event, parse_fields(changes, partial=True), user=user)
    for key in sorted(occurrences):
        event = await load_event(event.id, conn)
        original_start = dt.datetime.fromisoformat(key)
        values = _parse_occurrence_change(occurrences[key], zone(event.timezone))
        try:
            warnings = await _write_occurrence(conn, event, original_start, values, user=user)
        except NotFound as exc:
            if exc.what != "occurrence":
                raise
            when = to_local(original_start, zone(event.timezone))
            raise errors.Conflict(
                "occurrence gone",
                fields={
                    "occurrences": _(
                        "the occurrence of %(when)s is no longer in the series",
                        when=approval_notices.when_words(when),
                    )
                },
            ) from None
    return warnings


async def apply_update(
    conn: BaseDBAsyncClient, event: Event, fields: dict[str, Any], *, user: StaffUser | None
) -> list[dict[str, Any]]:
    """Write checked ``fields`` to a locked, loaded event in the caller's transaction."""
    library = event.library
    before = event_data(event)
    after = dataclasses.replace(before, **fields)
    times = resolve_times(
        after, library_timezone=library.timezone, horizon_end=default_horizon_end()
    )
    refs = await _resolve(conn, library, after)
    await lock_resources(conn, await _resources(conn, event.id, refs))
    _apply(event, after, times, refs)
    if "status" in fields and after.status != event.status:
        if event.status == EventStatus.CANCELLED:
            event.cancelled_at = None
        event.status = after.status  # type: ignore[assignment]
        event.approval = approval.state_when_published(library, after.status)
    event.revision += 1
    event.updated_at = dt.datetime.now(dt.UTC)
    await event.save(using_db=conn)
    await _write_related(conn, event, after, refs)
    registered = await registrations.snapshot(conn, event.id)
    await rebuild_occurrences(event, using_db=conn)
    changed = [n for n in SCHEDULE_ORDER if getattr(before, n) != getattr(after, n)]
    await _check_conflicts(conn, event, user, field=changed[0] if changed else "start")
    await registrations.schedule_changed(conn, event, registered)
    warnings = await opening_hours_warnings(conn, event, library)
    await _audit(conn, user, event, "update", _diff(before, after))
    await bump_data_version(using_db=conn)
    return warnings


async def cancel_event(event_id: int, *, user: StaffUser | None) -> Event:
    """Cancel an event (DELETE): kept, with every occurrence cancelled, and its undecided
    approval requests withdrawn."""
    _check_id(event_id)
    async with in_transaction("default") as conn:
        event = await lock_event(conn, event_id)
        if event.status != EventStatus.CANCELLED:
            now = dt.datetime.now(dt.UTC)
            previous = event.status.value
            event.status = EventStatus.CANCELLED
            event.cancelled_at = now
            event.revision += 1
            event.updated_at = now
            await event.save(using_db=conn)
            # Cancelling frees resources, so there is nothing to lock or check.
            registered = await registrations.snapshot(conn, event.id)
            await rebuild_occurrences(event, using_db=conn)
            await registrations.schedule_changed(conn, event, registered)
            await _audit(conn, user, event, "cancel", {"status": [previous, "cancelled"]})
            # Anyone who may edit cancels at once, whatever the library's approval rule:
            # cancelling only takes an event away from the public, never shows anything,
            # and the people coming must know now. What waited for a director is moot.
            await approval.withdraw_all_pending(conn, event)
            await bump_data_version(using_db=conn)
    return await load_event(event_id)


OCCURRENCE_FIELDS = ("start", "end", "room", "title", "cancelled", "note")


def _parse_occurrence_change(payload: object, tz: Any) -> dict[str, Any]:
    """The fields of an occurrence change, with ``start``/``end`` read in the zone ``tz``."""
    checked = validate(OccurrenceChange, payload)
    assert isinstance(payload, dict)
    problems = Problems()
    values: dict[str, Any] = {
        name: getattr(checked, name)
        for name in checked.model_fields_set
        if name in ("room", "cancelled", "note", "title")
    }
    for name in ("cancelled", "note", "title"):
        if name in values and values[name] is None:
            problems.add(name, "must not be null")
    for name in ("start", "end"):
        if name in payload:
            raw = payload[name]
            try:
                if not isinstance(raw, str) or len(raw) <= 10 or len(raw) > 40:
                    raise ValueError(raw)
                value = dt.datetime.fromisoformat(raw).replace(microsecond=0)
                if not in_range(value):
                    raise ValueError(raw)
            except ValueError:
                problems.add(name, _("must be a date-time such as 2026-12-01T10:00:00"))
                continue
            absent = absent_time(value, tz) if value.tzinfo is None else None
            if absent is not None:
                problems.add(name, absent)
                continue
            values[name] = value.astimezone(dt.UTC) if value.tzinfo else to_utc(value, tz)
    if ("start" in payload) != ("end" in payload):
        problems.add("end" if "start" in payload else "start", _("start and end go together"))
    if "start" in values and "end" in values:
        if values["end"] <= values["start"]:
            problems.add("end", _("must be after start"))
        elif values["end"] - values["start"] > MAX_DURATION:
            problems.add(
                "end", _("an occurrence may last at most %(days)s days", days=MAX_DURATION.days)
            )
    if problems:
        raise_problems(problems)
    return values


async def change_occurrence(
    event_id: int,
    original_start: dt.datetime,
    payload: object,
    *,
    user: StaffUser | None,
    approver: bool = True,
    base_url: str = "",
) -> EventResult:
    """Move, re-room, retitle or cancel one occurrence by its original start (UTC).

    ``approver`` as for :func:`update_event`: where the library has directors approve
    every change, a non-approver's change of an occurrence of a published event waits in
    the event's held change (``EventResult.pending``), except a cancellation, which is
    written at once and drops what was held for that occurrence.
    """
    _check_id(event_id)
    original_start = original_start.astimezone(dt.UTC)
    async with in_transaction("default") as conn:
        await lock_event(conn, event_id)
        event = await load_event(event_id, conn)
        changes = _parse_occurrence_change(payload, zone(event.timezone))
        cancelling = changes.get("cancelled") is True
        if not approver and approval.change_needs_approval(event):
            if not cancelling:
                return await _hold_occurrence_change(
                    conn, event, original_start, changes, user=user, base_url=base_url
                )
            if set(changes) - {"cancelled", "note"}:
                raise_problems(
                    {
                        "cancelled": _(
                            "cancel the occurrence on its own: a move, a room or a title"
                            " waits for a director here"
                        )
                    }
                )
        warnings = await _write_occurrence(conn, event, original_start, changes, user=user)
        if cancelling:
            await approval.drop_occurrence(conn, event, original_start, user)
    return EventResult(await load_event(event_id), warnings)


async def _occurrence_and_override(
    conn: BaseDBAsyncClient, event_id: int, original_start: dt.datetime
) -> tuple[Occurrence, OccurrenceOverride | None]:
    occurrence = (
        await Occurrence.filter(event_id=event_id, original_start=original_start)
        .using_db(conn)
        .first()
    )
    if occurrence is None:
        raise NotFound("occurrence")
    override = (
        await OccurrenceOverride.filter(event_id=event_id, original_start=original_start)
        .using_db(conn)
        .first()
    )
    return occurrence, override


async def _occurrence_room(
    conn: BaseDBAsyncClient, library: Library, changes: dict[str, Any]
) -> Room | None:
    if changes.get("room") is None:
        return None
    room = (
        await Room.filter(id=changes["room"], branch__library_id=library.id).using_db(conn).first()
    )
    if room is None:
        problem = _("%(library)s has no room %(room)s", library=library.slug, room=changes["room"])
        raise_problems({"room": problem})
    return room


async def _hold_occurrence_change(
    conn: BaseDBAsyncClient,
    event: Event,
    original_start: dt.datetime,
    changes: dict[str, Any],
    *,
    user: StaffUser | None,
    base_url: str,
) -> EventResult:
    """Merge a change of one occurrence into the event's held change and keep that for
    a director; what equals the occurrence as published drops out of it."""
    occurrence, override = await _occurrence_and_override(conn, event.id, original_start)
    await _occurrence_room(conn, event.library, changes)
    pending = await approval.pending_change(conn, event.id)
    occurrences = dict(pending.occurrences or {}) if pending is not None else {}
    key = utc_iso(original_start)
    merged = {**occurrences.get(key, {}), **approval.occurrence_change_json(changes)}
    reduced = approval.reduce_occurrence_change(
        merged, approval.occurrence_state(occurrence, override)
    )
    if reduced:
        occurrences[key] = reduced
    else:
        occurrences.pop(key, None)
    held = dict(pending.changes) if pending is not None else {}
    now_json = data_json(event_data(event))
    return await _hold(conn, event, pending, held, occurrences, now_json, user, base_url)


async def _write_occurrence(
    conn: BaseDBAsyncClient,
    event: Event,
    original_start: dt.datetime,
    changes: dict[str, Any],
    *,
    user: StaffUser | None,
) -> list[dict[str, Any]]:
    """Write a checked occurrence change to a locked, loaded event in the caller's
    transaction; return the opening-hours warnings."""
    event_id = event.id
    await _occurrence_and_override(conn, event_id, original_start)
    library = event.library
    room = await _occurrence_room(conn, library, changes)
    override = (
        await OccurrenceOverride.filter(event_id=event_id, original_start=original_start)
        .using_db(conn)
        .first()
    )
    now = dt.datetime.now(dt.UTC)
    if override is None:
        override = OccurrenceOverride(
            event=event, original_start=original_start, updated_at=now, revision=0
        )
    before = {
        "start": utc_iso(override.starts_at) if override.starts_at else None,
        "end": utc_iso(override.ends_at) if override.ends_at else None,
        "room": override.room_id,  # type: ignore[attr-defined]
        "title": override.title,
        "cancelled": override.cancelled,
        "note": override.note,
    }
    if "start" in changes:
        override.starts_at, override.ends_at = changes["start"], changes["end"]
    if "room" in changes:
        override.room = room
    if "title" in changes:
        override.title = changes["title"]
    if "cancelled" in changes:
        override.cancelled = changes["cancelled"]
    if "note" in changes:
        override.note = changes["note"]
    override.revision += 1
    override.updated_at = now
    staff = list(event.staff)
    resources = {(STAFF, u.id) for u in staff}
    if room is not None:
        resources.add((ROOM, room.id))
    elif event.room_id is not None:  # type: ignore[attr-defined]
        resources.add((ROOM, event.room_id))  # type: ignore[attr-defined]
    await lock_resources(conn, resources)
    await override.save(using_db=conn)
    event.revision += 1
    event.updated_at = now
    await event.save(using_db=conn, update_fields=["revision", "updated_at"])
    registered = await registrations.snapshot(conn, event.id)
    await rebuild_occurrences(event, using_db=conn)
    # Restoring an occurrence may bring it back onto one moved to its time meanwhile.
    restoring = changes.get("cancelled") is False and "start" not in changes
    await _check_conflicts(conn, event, user, field="cancelled" if restoring else "start")
    await registrations.schedule_changed(conn, event, registered)
    warnings = await opening_hours_warnings(conn, event, library)
    after = {
        "start": utc_iso(override.starts_at) if override.starts_at else None,
        "end": utc_iso(override.ends_at) if override.ends_at else None,
        "room": room.id if room is not None else override.room_id,  # type: ignore[attr-defined]
        "title": override.title,
        "cancelled": override.cancelled,
        "note": override.note,
    }
    diff = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    await _audit(
        conn,
        user,
        event,
        "change_occurrence",
        {"original_start": utc_iso(original_start), **diff},
    )
    await bump_data_version(using_db=conn)
    return warnings


async def record_attendance(
    event_id: int, payload: object, *, user: StaffUser | None, now: dt.datetime | None = None
) -> list[Attendance]:
    """Record head counts for one past, held occurrence; counts replace earlier ones.

    Body: ``{"original_start": "2026-12-01T09:00:00Z", "stop": null,
    "counts": [{"age_band": "0-5", "mode": "on_site", "count": 12}, …]}``.
    """
    _check_id(event_id)
    now = now or dt.datetime.now(dt.UTC)
    if not isinstance(payload, dict):
        raise_problems({"body": "must be a JSON object"})
    checked = validate(AttendanceIn, payload)
    problems = Problems()
    original_start = None
    raw = checked.original_start
    try:
        original_start = dt.datetime.fromisoformat(raw)
        if original_start.tzinfo is None or not in_range(original_start):
            raise ValueError(raw)
        original_start = original_start.astimezone(dt.UTC)
    except ValueError:
        problems.add("original_start", "must be a UTC date-time such as 2026-12-01T09:00:00Z")
    stop = checked.stop
    counts = [(c.age_band, c.mode, c.count) for c in checked.counts]
    if problems:
        raise_problems(problems)
    assert original_start is not None
    async with in_transaction("default") as conn:
        await begin_write(conn)
        event = await Event.filter(id=event_id).using_db(conn).first()
        if event is None:
            raise NotFound("event")
        occurrence = (
            await Occurrence.filter(event_id=event_id, original_start=original_start, stop_id=stop)
            .using_db(conn)
            .first()
        )
        if occurrence is None:
            raise_problems({"original_start": _("is not an occurrence of this event")})
        assert occurrence is not None
        if occurrence.cancelled:
            raise_problems({"original_start": _("the occurrence was cancelled: nobody attended")})
        if occurrence.starts_at > now:
            raise_problems({"original_start": _("the occurrence has not happened yet")})
        rows = []
        for band, mode, count in counts:
            row, _created = await Attendance.update_or_create(
                event_id=event_id,
                original_start=original_start,
                stop_id=stop,
                age_band=band,
                mode=mode,
                defaults={"count": count, "recorded_at": now, "library_id": event.library_id},  # type: ignore[attr-defined]
                using_db=conn,
            )
            rows.append(row)
        await _audit(
            conn,
            user,
            event,
            "record_attendance",
            {
                "original_start": utc_iso(original_start),
                "stop": stop,
                "counts": [list(c) for c in counts],
            },
        )
        # Attendance feeds reports, not calendars: the event's revision (iCalendar
        # SEQUENCE) stays, but cached reports must see the new counts.
        await bump_data_version(using_db=conn)
    return rows
