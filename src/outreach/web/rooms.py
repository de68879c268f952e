"""Room requests on the web: the public request page with the rooms' free times, the staff
page where requests are approved or declined and rooms opened to requests, and the API.

Handlers parse (declared models of :mod:`outreach.rooms.schemas`), call one function of
:mod:`outreach.rooms.requests` and render. The public form and ``POST /api/room-requests``
are rate limited per client address and carry a honeypot field: a filled-in honeypot is
answered like any request, and nothing is kept or sent. The requester's link page sets the
session's cookie, whose token (``outreach.web.csrf``) its forms send back: another site
that learnt the link cannot make a visitor's browser withdraw or erase the request.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from outreach import i18n
from outreach.i18n import gettext
from outreach.labels import kind_label
from outreach.models import EventKind, Library, RoleName, Room, RoomRequest, RoomRequestStatus
from outreach.registration import links
from outreach.rooms import requests as rooms
from outreach.rooms.schemas import (
    AvailabilityOut,
    AvailabilityQuery,
    DecisionIn,
    RoomRequestAccepted,
    RoomRequestIn,
    RoomRequestList,
    RoomRequestOut,
)
from outreach.scheduling.recurrence import zone
from outreach.schemas import validate
from outreach.settings import Settings
from outreach.web import auth, staff
from outreach.web.boundary import declare, read_json, read_query
from outreach.web.csrf import csrf_token, refusal, token_is_valid
from outreach.web.errors import ApiError, Conflict, Invalid, NotFound, status_of
from outreach.web.language import negotiate
from outreach.web.limits import RateLimit
from outreach.web.templating import private_page

DECIDERS = (RoleName.EDITOR, RoleName.DIRECTOR, RoleName.ADMIN)
ROOM_SETTERS = (RoleName.EDITOR, RoleName.ADMIN)
# A person sends a request or two (and corrects a form a few times); a robot sends many.
SUBMISSIONS_PER_CLIENT = 10
SUBMISSION_WINDOW = 600.0
FORM_FIELDS = (
    "room",
    "day",
    "start",
    "end",
    "attendees",
    "purpose",
    "name",
    "organisation",
    "email",
    "phone",
    "website",
)


async def _library(slug: str) -> Library:
    library = await Library.get_or_none(slug=slug)
    if library is None:
        raise NotFound("library")
    return library


def _client(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def _submissions(request: Request) -> RateLimit:
    """The app's limit on requests sent from one address, created on first use."""
    limit: RateLimit | None = getattr(request.app.state, "room_request_limit", None)
    if limit is None:
        limit = RateLimit(SUBMISSIONS_PER_CLIENT, SUBMISSION_WINDOW)
        request.app.state.room_request_limit = limit
    return limit


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _week(
    library: Library, first: dt.date | None, days: int
) -> tuple[dt.date, dt.datetime, dt.datetime]:
    """The first local day shown and the instants that bound the days shown."""
    tz = zone(library.timezone)
    first = first or dt.datetime.now(tz).date()
    start = dt.datetime.combine(first, dt.time(), tzinfo=tz).astimezone(dt.UTC)
    end = dt.datetime.combine(first + dt.timedelta(days=days), dt.time(), tzinfo=tz)
    return first, start, end.astimezone(dt.UTC)


async def _availability(
    library: Library,
    rooms_: list[Room],
    first: dt.date,
    start: dt.datetime,
    end: dt.datetime,
    days: int,
) -> list[dict[str, Any]]:
    """Each room with, for each day shown, its busy times in local time."""
    tz = zone(library.timezone)
    busy = await rooms.busy_times(rooms_, start, end)
    shown = []
    for room in rooms_:
        by_day: dict[dt.date, list[tuple[dt.datetime, dt.datetime]]] = {}
        for span_start, span_end in busy[room.id]:
            local_start, local_end = span_start.astimezone(tz), span_end.astimezone(tz)
            day = max(local_start.date(), first)
            while day <= local_end.date() and day < first + dt.timedelta(days=days):
                day_start = dt.datetime.combine(day, dt.time(), tzinfo=tz)
                day_end = day_start + dt.timedelta(days=1)
                if local_end > day_start:
                    by_day.setdefault(day, []).append(
                        (max(local_start, day_start), min(local_end, day_end))
                    )
                day += dt.timedelta(days=1)
        shown.append(
            {
                "room": room,
                "days": [
                    (first + dt.timedelta(days=i), by_day.get(first + dt.timedelta(days=i), []))
                    for i in range(days)
                ],
            }
        )
    return shown


def _field_help() -> dict[str, str]:
    """What a person is told about a field the form refused, in the page's language."""
    return {
        "room": gettext("Choose a room."),
        "day": gettext("Give a date such as 2027-03-04."),
        "start": gettext("Give a start time such as 17:30."),
        "end": gettext("Give an end time after the start, such as 19:00."),
        "attendees": gettext("Say how many people will come (a whole number)."),
        "purpose": gettext("Say what the room is for (at most 500 characters)."),
        "name": gettext("Give your name (at most 200 characters)."),
        "organisation": gettext("At most 200 characters."),
        "email": gettext("Give an email address such as ana@example.org."),
        "phone": gettext("Give a phone number such as +386 4 201 35 00, or leave it empty."),
        "consent": gettext("Agree to the keeping of your details, or the request cannot be sent."),
    }


def _payload(form: dict[str, str], consent: bool, library: Library) -> dict[str, Any]:
    """The declared request from the form: whole numbers as numbers, the rest as typed."""
    body: dict[str, Any] = {k: form[k] for k in FORM_FIELDS}
    for name in ("room", "attendees"):
        if form[name].isdigit() and len(form[name]) < 10:
            body[name] = int(form[name])
    body["consent"] = consent
    body["library"] = library.slug
    body["language"] = i18n.current()
    return body


async def request_page(request: Request) -> Response:
    """``/{library}/rooms``: the rooms one may ask for, when each is taken this week (never
    by whom), and the request form; a sent form is answered with a confirmation."""
    library = await _library(request.path_params["library"])
    negotiate(request, default=library.default_language)
    offered = await rooms.requestable_rooms(library)
    # The page's other parameters (``lang``, ``sent``) are no business of the query model;
    # a week it cannot read shows this week.
    asked = {k: v for k, v in request.query_params.items() if k in ("from", "days")}
    try:
        wanted = validate(AvailabilityQuery, asked)
    except Invalid:
        wanted = AvailabilityQuery.model_validate({})
    form = dict.fromkeys(FORM_FIELDS, "")
    errors: dict[str, str] = {}
    problem = ""
    status_code = 200
    consent = False
    if request.method == "POST":
        raw = await request.form()
        form = {name: str(raw.get(name, "")).strip()[:1000] for name in FORM_FIELDS}
        consent = raw.get("consent") == "yes"
        status_code, errors, problem = await _submit(request, library, form, consent)
        if status_code == 303:
            return RedirectResponse(f"/{library.slug}/rooms?sent=1", status_code=303)
    first, start, end = _week(library, wanted.from_, wanted.days)
    days = wanted.days
    context = {
        "library": library,
        "rooms": await _availability(library, offered, first, start, end, days),
        "form": form,
        "consent": consent,
        "errors": errors,
        "problem": problem,
        "sent": request.query_params.get("sent") == "1" and request.method == "GET",
        "first": first,
        "previous": first - dt.timedelta(days=days),
        "next": first + dt.timedelta(days=days),
        "erase_days": _settings(request).room_request_erase_days,
    }
    response = request.app.state.templates.TemplateResponse(
        request, "rooms/request.html", context, status_code=status_code
    )
    assert isinstance(response, HTMLResponse)
    return response


async def _submit(
    request: Request, library: Library, form: dict[str, str], consent: bool
) -> tuple[int, dict[str, str], str]:
    """Send the form: (303, …) when received, else the status, field problems and a
    message for the page."""
    client, limit = _client(request), _submissions(request)
    if not limit.allow(client):
        minutes = max(1, limit.retry_after(client) // 60)
        return (
            429,
            {},
            i18n.ngettext(
                "Too many requests from your address: try again in %(num)s minute.",
                "Too many requests from your address: try again in %(num)s minutes.",
                minutes,
            ),
        )
    try:
        data = validate(RoomRequestIn, _payload(form, consent, library))
    except Invalid as exc:
        help_ = _field_help()
        return 422, {k: help_.get(k, v) for k, v in exc.fields.items()}, ""
    if data.website:
        return 303, {}, ""
    try:
        await rooms.submit_request(
            library, data, erase_days=_settings(request).room_request_erase_days
        )
    except Invalid as exc:
        return 422, exc.fields, ""
    except Conflict as exc:
        return 409, exc.fields, exc.error
    return 303, {}, ""


async def _held(request: Request, library: Library) -> tuple[RoomRequest | None, str, int]:
    """The request the link opens, or why none (in the page's language) and its status."""
    invalid = gettext("This link is not valid. Please use the link from your email, whole.")
    try:
        held = await rooms.by_link(request.path_params["token"])
    except links.LinkExpired:
        return (
            None,
            gettext(
                "This link has expired: the time of the request is long over, and its data"
                " has been erased."
            ),
            410,
        )
    except links.LinkInvalid:
        return None, invalid, 404
    if held.library_id != library.id:  # type: ignore[attr-defined]
        return None, invalid, 404
    return held, "", 200


async def mine_page(request: Request) -> Response:
    """``/{library}/rooms/requests/{token}``: the requester's own request, to see, withdraw
    or erase; the link is all it takes (no account), and it opens one request only.
    Erasing first shows what goes and what stays; every form carries the session's token
    (:mod:`outreach.web.csrf`), and one sent without it changes nothing."""
    library = await _library(request.path_params["library"])
    held, problem, status_code = await _held(request, library)
    negotiate(request, default=held.language if held else library.default_language)
    if held is None:
        # Worded again now that the page's language is known.
        problem = (await _held(request, library))[1]
    context: dict[str, Any] = {
        "library": library,
        "held": None,
        "problem": problem,
        "message": "",
        "erase_days": _settings(request).room_request_erase_days,
    }
    if held is not None:
        context["csrf_token"] = csrf_token(request)
    if held is not None and request.method == "POST":
        sent = await request.form()
        action = str(sent.get("action", ""))
        try:
            if not token_is_valid(request, sent):
                status_code = 403
                context["message"] = refusal()
            elif action == "erase" and sent.get("confirm") != "yes":
                # Erasing cannot be undone: the requester is first told what goes.
                return private_page(
                    request, "rooms/erase.html", context | _held_context(held, library, request)
                )
            elif action == "withdraw":
                await rooms.withdraw(held.id)
                context["message"] = gettext(
                    "Your request is withdrawn. Thank you for letting us know."
                )
            elif action == "erase":
                await rooms.erase(held.id)
                held = None
                context["message"] = gettext(
                    "Your details are erased. Only the room, the time and the number of people"
                    " remain."
                )
            else:
                status_code = 422
                context["message"] = gettext("Nothing was changed: choose to withdraw or to erase.")
        except (Conflict, Invalid) as exc:
            status_code = status_of(exc)
            context["message"] = exc.error
        if held is not None:
            held = await rooms.by_link(request.path_params["token"])
    if held is not None:
        context |= _held_context(held, library, request)
    return private_page(request, "rooms/mine.html", context, status=status_code)


def _held_context(held: RoomRequest, library: Library, request: Request) -> dict[str, Any]:
    """What the link's pages show of the request."""
    return {
        "held": held,
        "path": request.url.path,
        "when": rooms.when_text(library, held.starts_at, held.ends_at),
        "withdrawable": rooms.withdrawable(held),
        "statuses": RoomRequestStatus,
    }


# -- staff ---------------------------------------------------------------------------------


def _local(instant: dt.datetime, library: Library) -> dt.datetime:
    return instant.astimezone(zone(library.timezone))


async def staff_requests(request: Request) -> Response:
    """``/staff/rooms/requests``: pending requests to answer, answered ones, and which rooms
    of the user's libraries the public may ask for."""
    return await _staff_page(request, {}, "", 200)


async def _staff_page(
    request: Request,
    errors: dict[str, str],
    problem: str,
    status_code: int,
    failed: int | None = None,
) -> Response:
    user = request.state.user
    access = [a for a in await staff.libraries_of(user) if set(a.roles) & set(DECIDERS)]
    ids = [a.library.id for a in access]
    room_rows = (
        await Room.filter(branch__library_id__in=ids)
        .prefetch_related("branch", "branch__library")
        .order_by("branch__library_id", "branch__name", "name")
        if ids
        else []
    )
    context = {
        "libraries": access,
        "pending": await rooms.requests_of(ids, pending=True) if ids else [],
        "answered": await rooms.requests_of(ids, pending=False) if ids else [],
        "rooms": room_rows,
        "can_set": {a.library.id for a in access if a.can_edit},
        "kinds": [(k.value, kind_label(k)) for k in EventKind if k != EventKind.BOOKMOBILE],
        "local": _local,
        "errors": errors,
        "problem": problem,
        "failed": failed,
        "erase_days": _settings(request).room_request_erase_days,
    }
    return staff.render(request, "rooms/staff_requests.html", context, status_code=status_code)


async def _request_of(request: Request) -> tuple[RoomRequest, Library]:
    found = await RoomRequest.get_or_none(id=request.path_params["id"]).prefetch_related("library")
    if found is None:
        raise NotFound("room request", message=gettext("No such room request."))
    return found, found.library


async def staff_decide(request: Request) -> Response:
    """Approve or decline one request, with a message to the requester."""
    found, library = await _request_of(request)
    user = await auth.require_library_role(request, library.id, DECIDERS)
    raw = await request.form()
    body = {
        # The button pressed: its name is the decision.
        "decision": "approve" if "approve" in raw else "decline" if "decline" in raw else "",
        "message": str(raw.get("message", "")).strip()[:5000],
        "public": raw.get("public") == "yes",
        "title": str(raw.get("title", "")).strip()[:1000],
        "kind": str(raw.get("kind", EventKind.CLUB.value)),
    }
    try:
        decision = validate(DecisionIn, body)
        await rooms.decide(
            found.id,
            decision,
            user=user,
            library=library,
            erase_days=_settings(request).room_request_erase_days,
        )
    except Invalid as exc:
        return await _staff_page(request, exc.fields, "", 422, failed=found.id)
    except Conflict as exc:
        return await _staff_page(request, exc.fields, exc.error, 409, failed=found.id)
    if decision.decision == "approve":
        staff.flash(request, gettext("The request is approved: the room is booked."))
    else:
        staff.flash(request, gettext("The request is declined."))
    return RedirectResponse("/staff/rooms/requests", status_code=303)


async def staff_requestable(request: Request) -> Response:
    """Open a room to requests from the public page, or close it."""
    room = await Room.get_or_none(id=request.path_params["id"]).prefetch_related("branch")
    if room is None:
        raise NotFound("room")
    await auth.require_library_role(request, room.branch.library_id, ROOM_SETTERS)  # type: ignore[attr-defined]
    raw = await request.form()
    room.requestable = raw.get("requestable") == "yes"
    await room.save(update_fields=["requestable"])
    if room.requestable:
        staff.flash(request, gettext("%(room)s may now be requested.", room=room.name))
    else:
        staff.flash(request, gettext("%(room)s can no longer be requested.", room=room.name))
    return RedirectResponse("/staff/rooms/requests#rooms", status_code=303)


# -- API -----------------------------------------------------------------------------------


@declare(query=AvailabilityQuery, answer=AvailabilityOut)
async def api_availability(request: Request) -> JSONResponse:
    """When each requestable room of a library is taken (never by whom), day by day."""
    library = await _library(request.path_params["library"])
    wanted = read_query(request, AvailabilityQuery)
    offered = await rooms.requestable_rooms(library)
    first, start, end = _week(library, wanted.from_, wanted.days)
    busy = await rooms.busy_times(offered, start, end)
    tz = zone(library.timezone)
    return JSONResponse(
        {
            "library": library.slug,
            "from": first.isoformat(),
            "days": wanted.days,
            "rooms": [
                {
                    "id": room.id,
                    "name": room.name,
                    "branch": room.branch.name,
                    "capacity": room.capacity,
                    "busy": [
                        {
                            "start": s.astimezone(tz).isoformat(timespec="minutes"),
                            "end": e.astimezone(tz).isoformat(timespec="minutes"),
                        }
                        for s, e in busy[room.id]
                    ],
                }
                for room in offered
            ],
        }
    )


@declare(body=RoomRequestIn, answer=RoomRequestAccepted, status=202)
async def api_submit(request: Request) -> JSONResponse:
    """Ask for a room (no account): 202 once received; staff answer by email."""
    client, limit = _client(request), _submissions(request)
    if not limit.allow(client):
        raise ApiError(
            429,
            "too many requests",
            fields={"body": f"try again in {limit.retry_after(client)} seconds"},
        )
    data = await read_json(request, RoomRequestIn)
    library = await Library.get_or_none(slug=data.library)
    if library is None:
        raise Invalid({"library": f"no library {data.library!r}"})
    if not data.website:
        await rooms.submit_request(
            library, data, erase_days=_settings(request).room_request_erase_days
        )
    return JSONResponse({"status": "received"}, status_code=202)


def request_json(found: RoomRequest) -> dict[str, Any]:
    library: Library = found.library
    tz = zone(library.timezone)
    return {
        "id": found.id,
        "library": library.slug,
        "room": found.room.id,
        "room_name": found.room.name,
        "start": found.starts_at.astimezone(tz).isoformat(timespec="minutes"),
        "end": found.ends_at.astimezone(tz).isoformat(timespec="minutes"),
        "attendees": found.attendees,
        "status": found.status.value,
        "visibility": found.visibility.value,
        "event": found.event_id,  # type: ignore[attr-defined]
        "language": found.language,
        "purpose": found.purpose,
        "name": found.name,
        "organisation": found.organisation,
        "email": found.email,
        "phone": found.phone,
        "message": found.message,
        "created_at": found.created_at.astimezone(dt.UTC).isoformat(),
        "decided_at": found.decided_at.astimezone(dt.UTC).isoformat() if found.decided_at else None,
        "erased": found.erased_at is not None,
    }


@declare(answer=RoomRequestList)
async def api_list(request: Request) -> JSONResponse:
    """The requests of the libraries where the caller may answer them, pending ones first."""
    user = await auth.require_user(request)
    ids = [a.library.id for a in await staff.libraries_of(user) if set(a.roles) & set(DECIDERS)]
    found = [
        *(await rooms.requests_of(ids, pending=True)),
        *(await rooms.requests_of(ids, pending=False)),
    ]
    return JSONResponse({"requests": [request_json(r) for r in found]})


@declare(body=DecisionIn, answer=RoomRequestOut)
async def api_decide(request: Request) -> JSONResponse:
    """Approve or decline a pending request; the requester is told by email."""
    found, library = await _request_of(request)
    user = await auth.require_library_role(request, library.id, DECIDERS)
    decision = await read_json(request, DecisionIn)
    await rooms.decide(
        found.id,
        decision,
        user=user,
        library=library,
        erase_days=_settings(request).room_request_erase_days,
    )
    fresh = await RoomRequest.get(id=found.id).prefetch_related("library", "room")
    return JSONResponse(request_json(fresh))


routes: list[BaseRoute] = [
    Route("/staff/rooms/requests", staff.page(staff_requests), methods=["GET"]),
    Route("/staff/rooms/requests/{id:id}/decide", staff.page(staff_decide), methods=["POST"]),
    Route("/staff/rooms/{id:id}/requestable", staff.page(staff_requestable), methods=["POST"]),
    Route("/api/libraries/{library:slug}/rooms/availability", api_availability, methods=["GET"]),
    Route("/api/room-requests", api_submit, methods=["POST"]),
    Route("/api/room-requests", api_list, methods=["GET"]),
    Route("/api/room-requests/{id:id}/decision", api_decide, methods=["POST"]),
    Route("/{library:slug}/rooms", request_page, methods=["GET", "POST"]),
    Route("/{library:slug}/rooms/requests/{token}", mine_page, methods=["GET", "POST"]),
]
