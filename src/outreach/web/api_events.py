"""The events API: events, single occurrences, attendance. Thin: rules live in scheduling."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, ClassVar
from urllib.parse import urlencode

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from tortoise.expressions import Q, Subquery

from outreach import publicity
from outreach.models import (
    Attendance,
    Audience,
    Branch,
    Event,
    EventKind,
    EventStatus,
    Library,
    Occurrence,
    OccurrenceOverride,
    Role,
    RoleName,
    StaffUser,
    StrategyValue,
)
from outreach.scheduling import service
from outreach.scheduling.recurrence import in_range
from outreach.scheduling.schemas import (
    AttendanceIn,
    AttendanceOut,
    EventChange,
    EventOut,
    EventPage,
    EventWritten,
    NewEvent,
    OccurrenceChange,
    OccurrencePage,
)
from outreach.scheduling.serialise import PREFETCH, event_json, occurrence_json, utc_iso
from outreach.schemas import CODE_PATTERN, Count, Declared, OneOf, Text, shown, validate
from outreach.strategies import GOAL_DESCRIPTION, GOAL_FORM, GOAL_LONGEST, GOAL_PATTERN, named_goals
from outreach.web.auth import authenticate, may_approve, require_library_role, require_user
from outreach.web.boundary import declare, read_json_value, read_query
from outreach.web.errors import Invalid, NotFound
from outreach.web.links import origin

WRITE_ROLES = (RoleName.EDITOR, RoleName.ADMIN)
READ_ROLES = (RoleName.EDITOR, RoleName.DIRECTOR, RoleName.ADMIN)
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_OCCURRENCE_WINDOW = dt.timedelta(days=366)
_VALUE_CODE = r"^[A-Za-z0-9._-]{1,32}$"
_WHEN = "ISO 8601 date or date-time (UTC unless an offset is given)"


class EventFilters(Declared):
    """The list filters shared by events and occurrences, and the page."""

    unknown: ClassVar[str] = "is not a filter"
    library: Annotated[str, Text(64, CODE_PATTERN, "a slug or code")] | None = None
    branch: Annotated[str, Text(64, CODE_PATTERN, "a slug or code")] | None = None
    kind: Annotated[str, OneOf(tuple(k.value for k in EventKind))] | None = None
    audience: Annotated[str, OneOf(tuple(a.value for a in Audience))] | None = None
    goal: Annotated[str, Text(GOAL_LONGEST, GOAL_PATTERN, GOAL_FORM)] | None = Field(
        None, description=GOAL_DESCRIPTION
    )
    value: Annotated[str, Text(32, _VALUE_CODE, "a slug or code")] | None = None
    status: Annotated[str, OneOf(tuple(s.value for s in EventStatus))] | None = None
    from_: Annotated[str, Text(40)] | None = Field(None, alias="from", description=_WHEN)
    to: Annotated[str, Text(40)] | None = Field(None, description=_WHEN)
    limit: Annotated[int, Count(0, MAX_LIMIT)] | None = None
    offset: Annotated[int, Count(0, 10**9)] = 0


def _with_warnings(result: service.EventResult) -> dict[str, Any]:
    body = event_json(result.event)
    body["warnings"] = result.warnings
    if result.pending is not None:
        # The change waits for a director: the event is shown as it still is.
        body["pending_approval"] = result.pending.id
    return body


async def readable_library_ids(user: StaffUser | None) -> set[int]:
    """Libraries whose drafts and internal events ``user`` may read."""
    if user is None:
        return set()
    roles = await Role.filter(user_id=user.id)
    ids = {r.library_id for r in roles if r.library_id is not None}  # type: ignore[attr-defined]
    networks = [r.network_id for r in roles if r.role == RoleName.COORDINATOR]  # type: ignore[attr-defined]
    if networks:
        ids |= {lib.id for lib in await Library.filter(network_id__in=networks)}
    return ids


def _public_or(readable: set[int]) -> Q:
    public = publicity.events()
    return public | Q(library_id__in=list(readable)) if readable else public


def _instant(raw: str, name: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(raw) if len(raw) <= 40 else None
    except ValueError:
        value = None
    if value is None or not in_range(value):
        raise Invalid(
            {name: "must be an ISO 8601 date or date-time (UTC unless an offset is given)"}
        )
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


async def _event_filters(filters: EventFilters, user: StaffUser | None) -> list[Q]:
    """The list filters shared by events and occurrences, as conditions on events."""
    params = {
        name: value
        for name, value in filters.model_dump(by_alias=True, exclude={"limit", "offset"}).items()
        if value is not None
    }
    conditions = [_public_or(await readable_library_ids(user))]
    library = None
    if "library" in params:
        library = await Library.get_or_none(slug=params["library"])
        if library is None:
            raise Invalid({"library": f"no library {params['library'][:64]!r}"})
        conditions.append(Q(library_id=library.id))
    if "branch" in params:
        branches = Branch.filter(slug=params["branch"])
        if library is not None:
            branches = branches.filter(library_id=library.id)
        ids = [b.id for b in await branches]
        if not ids:
            raise Invalid({"branch": f"no branch {params['branch'][:64]!r}"})
        conditions.append(Q(branch_id__in=ids))
    if "kind" in params:
        conditions.append(Q(kind=params["kind"]))
    if "status" in params:
        conditions.append(Q(status=params["status"]))
    if "audience" in params:
        conditions.append(Q(audiences__audience=params["audience"]))
    strategy_ids = None
    if library is not None and ("goal" in params or "value" in params):
        strategy_ids = await service.library_strategy_ids(library)
    if "goal" in params:
        # Internal goals too: staff read their library's internal events by them.
        goals = await named_goals(params["goal"], strategy_ids, public=False)
        if not goals:
            shown_goal = shown(params["goal"], GOAL_LONGEST)
            raise Invalid({"goal": f"no goal {shown_goal!r} in the strategies that apply"})
        conditions.append(Q(tags__goal_id__in=[g.id for g in goals]))
    if "value" in params:
        values = StrategyValue.filter(code=params["value"])
        if strategy_ids is not None:
            values = values.filter(strategy_id__in=strategy_ids)
        ids = [v.id for v in await values]
        if not ids:
            shown_value = shown(params["value"], 32)
            raise Invalid({"value": f"no value {shown_value!r} in the strategies that apply"})
        conditions.append(Q(tags__value_id__in=ids))
    start = _instant(params["from"], "from") if "from" in params else None
    end = _instant(params["to"], "to") if "to" in params else None
    if start is not None and end is not None and end <= start:
        raise Invalid({"to": "must be after from"})
    if start is not None or end is not None:
        occurrences = Occurrence.all()
        if start is not None:
            occurrences = occurrences.filter(ends_at__gt=start)
        if end is not None:
            occurrences = occurrences.filter(starts_at__lt=end)
        conditions.append(Q(id__in=Subquery(occurrences.values("event_id"))))
    return conditions


def _next_link(request: Request, offset: int, limit: int, total: int) -> str | None:
    if offset + limit >= total:
        return None
    params = dict(request.query_params)
    params.update(offset=str(offset + limit), limit=str(limit))
    return f"{request.url.path}?{urlencode(params)}"


@declare(query=EventFilters, answer=EventPage)
async def list_events(request: Request) -> JSONResponse:
    """Events matching the filters, a page at a time (``limit`` ≤ 200, ``offset``)."""
    filters = read_query(request, EventFilters)
    user = await authenticate(request)
    limit = DEFAULT_LIMIT if filters.limit is None else filters.limit
    offset = filters.offset
    conditions = await _event_filters(filters, user)
    query = Event.filter(*conditions).distinct()
    total = await query.count()
    events = (
        await query.order_by("starts_at", "id")
        .offset(offset)
        .limit(limit)
        .prefetch_related(*PREFETCH)
    )
    readable = await readable_library_ids(user)
    return JSONResponse(
        {
            "events": [_shown(e, readable) for e in events],
            "count": total,
            "next": _next_link(request, offset, limit, total),
        }
    )


def _shown(event: Event, readable: set[int]) -> dict[str, Any]:
    body = event_json(event)
    if event.library.id not in readable:
        body.pop("staff")  # who works when is staff data, not for the public
    return body


async def _readable_event(request: Request) -> Event:
    event = await service.load_event(request.path_params["event_id"])
    readable = await readable_library_ids(await authenticate(request))
    if event.library.id not in readable and not publicity.is_public(event):
        raise NotFound("event")
    return event


@declare(answer=EventOut)
async def get_event(request: Request) -> JSONResponse:
    """One event; drafts and internal events only for staff of its library."""
    event = await _readable_event(request)
    return JSONResponse(_shown(event, await readable_library_ids(await authenticate(request))))


@declare(body=NewEvent, answer=EventWritten, status=201)
async def create_event(request: Request) -> JSONResponse:
    """POST /api/events: 201 with the event (and warnings), 409 on a double booking."""
    user = await require_user(request)
    body = await read_json_value(request)
    slug = validate(NewEvent, body).library
    library = await Library.get_or_none(slug=slug)
    if library is None:
        raise Invalid({"library": f"no library {shown(slug)!r}"})
    await require_library_role(request, library.id, WRITE_ROLES)
    payload = {k: v for k, v in body.items() if k != "library"}
    approver = await may_approve(user, library.id)
    result = await service.create_event(library, payload, user=user, approver=approver)
    return JSONResponse(_with_warnings(result), status_code=201)


async def _writable_event(request: Request) -> tuple[Event, StaffUser]:
    user = await require_user(request)
    event = await Event.get_or_none(id=request.path_params["event_id"])
    if event is None:
        raise NotFound("event")
    await require_library_role(request, event.library_id, WRITE_ROLES)  # type: ignore[attr-defined]
    return event, user


@declare(body=EventChange, answer=EventWritten)
async def update_event(request: Request) -> JSONResponse:
    """Change some fields of an event (``revision``, if given, must be current)."""
    event, user = await _writable_event(request)
    body = await read_json_value(request)
    validate(EventChange, body)
    approver = await may_approve(user, event.library_id)  # type: ignore[attr-defined]
    result = await service.update_event(
        event.id, body, user=user, approver=approver, base_url=origin(request)
    )
    return JSONResponse(_with_warnings(result))


@declare(answer=EventOut)
async def cancel_event(request: Request) -> JSONResponse:
    """Cancel an event: it is kept, with every occurrence cancelled."""
    event, user = await _writable_event(request)
    return JSONResponse(event_json(await service.cancel_event(event.id, user=user)))


@declare(body=OccurrenceChange, answer=EventWritten)
async def change_occurrence(request: Request) -> JSONResponse:
    """PATCH /api/events/{id}/occurrences/{original start in UTC}; where every change
    waits for a director, an editor's change (not a cancellation) is held
    (``pending_approval``) and the occurrence stays as it is."""
    event, user = await _writable_event(request)
    raw = request.path_params["original_start"]
    original_start = _instant(raw, "original_start")
    body = await read_json_value(request)
    approver = await may_approve(user, event.library_id)  # type: ignore[attr-defined]
    result = await service.change_occurrence(
        event.id, original_start, body, user=user, approver=approver, base_url=origin(request)
    )
    return JSONResponse(_with_warnings(result))


@declare(query=EventFilters, answer=OccurrencePage)
async def list_occurrences(request: Request) -> JSONResponse:
    """Expanded occurrences between ``from`` (default now) and ``to`` (default 31 days on)."""
    filters = read_query(request, EventFilters)
    user = await authenticate(request)
    limit = MAX_LIMIT if filters.limit is None else filters.limit
    offset = filters.offset
    now = dt.datetime.now(dt.UTC)
    start = _instant(filters.from_, "from") if filters.from_ is not None else now
    end = _instant(filters.to, "to") if filters.to is not None else start + dt.timedelta(days=31)
    if end <= start:
        raise Invalid({"to": "must be after from"})
    if end - start > MAX_OCCURRENCE_WINDOW:
        raise Invalid({"to": f"must be at most {MAX_OCCURRENCE_WINDOW.days} days after from"})
    conditions = await _event_filters(filters, user)
    events = Subquery(Event.filter(*conditions).values("id"))
    query = Occurrence.filter(event_id__in=events, starts_at__lt=end, ends_at__gt=start)
    readable = await readable_library_ids(user)
    # A private stop (a school yard, a care home) is only for the library's own staff.
    query = query.filter(
        publicity.outside_private_stops() | Q(library_id__in=list(readable or {0}))
    )
    total = await query.count()
    occurrences = (
        await query.order_by("starts_at", "id")
        .offset(offset)
        .limit(limit)
        .prefetch_related("event", "branch")
    )
    titles = await _override_titles(occurrences)
    return JSONResponse(
        {
            "occurrences": [
                occurrence_json(o, o.event, title=titles.get((o.event.id, o.original_start)))
                for o in occurrences
            ],
            "count": total,
            "next": _next_link(request, offset, limit, total),
        }
    )


async def _override_titles(
    occurrences: list[Occurrence],
) -> dict[tuple[int, dt.datetime], dict[str, str]]:
    """Titles given to single occurrences, by (event, original start)."""
    overrides = await OccurrenceOverride.filter(
        event_id__in={o.event.id for o in occurrences},
        original_start__in={o.original_start for o in occurrences},
    )
    return {
        (o.event_id, o.original_start): o.title  # type: ignore[attr-defined]
        for o in overrides
        if o.title
    }


@declare(body=AttendanceIn, answer=AttendanceOut, status=201)
async def record_attendance(request: Request) -> JSONResponse:
    """POST attendance counts for one past occurrence; answers with all counts of the event."""
    event, user = await _writable_event(request)
    body = await read_json_value(request)
    await service.record_attendance(event.id, body, user=user)
    return JSONResponse(await _attendance_json(event), status_code=201)


@declare(answer=AttendanceOut)
async def get_attendance(request: Request) -> JSONResponse:
    """Attendance counts per occurrence, for staff who may read the library's figures."""
    user = await require_user(request)
    event = await Event.get_or_none(id=request.path_params["event_id"])
    if event is None:
        raise NotFound("event")
    del user
    await require_library_role(request, event.library_id, READ_ROLES)  # type: ignore[attr-defined]
    return JSONResponse(await _attendance_json(event))


async def _attendance_json(event: Event) -> dict[str, Any]:
    rows = await Attendance.filter(event_id=event.id).order_by(
        "original_start", "stop_id", "age_band", "mode"
    )
    sessions: dict[tuple[dt.datetime, int | None], dict[str, Any]] = {}
    for row in rows:
        stop_id: int | None = row.stop_id  # type: ignore[attr-defined]
        session = sessions.setdefault(
            (row.original_start, stop_id),
            {
                "original_start": utc_iso(row.original_start),
                "stop": stop_id,
                "counts": [],
                "total": 0,
            },
        )
        session["counts"].append(
            {"age_band": row.age_band.value, "mode": row.mode.value, "count": row.count}
        )
        session["total"] += row.count
    return {"event": event.id, "attendance": list(sessions.values())}


routes: list[BaseRoute] = [
    Route("/api/events", list_events, methods=["GET"]),
    Route("/api/events", create_event, methods=["POST"]),
    Route("/api/events/{event_id:id}", get_event, methods=["GET"]),
    Route("/api/events/{event_id:id}", update_event, methods=["PATCH"]),
    Route("/api/events/{event_id:id}", cancel_event, methods=["DELETE"]),
    Route(
        "/api/events/{event_id:id}/occurrences/{original_start}",
        change_occurrence,
        methods=["PATCH"],
    ),
    Route("/api/events/{event_id:id}/attendance", get_attendance, methods=["GET"]),
    Route("/api/events/{event_id:id}/attendance", record_attendance, methods=["POST"]),
    Route("/api/occurrences", list_occurrences, methods=["GET"]),
]
