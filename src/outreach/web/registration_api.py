"""The registration API: patrons register and manage their registration through its
signed link; staff list, check in, set the rules and read the outbox.

The public ``POST /api/events/{id}/registrations`` answers 202 with the same words
whether the address was new, already registered, or a robot filled in the honeypot: what
happened is told by mail, to the address's owner only.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from tortoise.connection import get_connection

from outreach import errors, i18n
from outreach.i18n import _
from outreach.models import (
    Event,
    Library,
    Notice,
    Registration,
    RegistrationPolicy,
    RegistrationStatus,
    RoleName,
)
from outreach.registration import links, service
from outreach.registration.schemas import (
    CapacityIn,
    CheckIn,
    NoticeList,
    PlacesOut,
    PolicyIn,
    PolicyOut,
    Received,
    RegistrationChange,
    RegistrationIn,
    RegistrationList,
    RegistrationOut,
)
from outreach.schemas import SLUG_PATTERN, Declared, Text
from outreach.settings import Settings
from outreach.web.auth import require_library_role
from outreach.web.boundary import declare, read_json, read_query
from outreach.web.errors import ApiError
from outreach.web.language import requested
from outreach.web.limits import RateLimit

STAFF_ROLES = (RoleName.EDITOR, RoleName.ADMIN)
READ_ROLES = (RoleName.EDITOR, RoleName.ADMIN, RoleName.DIRECTOR)


def utc(instant: dt.datetime | None) -> str | None:
    if instant is None:
        return None
    return instant.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def registration_json(registration: Registration, position: int | None = None) -> dict[str, Any]:
    return {
        "id": registration.id,
        "event": registration.event_id,  # type: ignore[attr-defined]
        "original_start": utc(registration.original_start),
        "status": str(registration.status),
        "party_size": registration.party_size,
        "age_bands": dict(registration.age_bands),
        "name": registration.name,
        "email": registration.email,
        "language": registration.language,
        "position": position,
    }


def places_json(places: service.Places) -> dict[str, Any]:
    return {
        "original_start": utc(places.original_start),
        "capacity": places.capacity,
        "confirmed": places.confirmed,
        "waitlisted": places.waitlisted,
        "left": places.left,
        "open": places.open,
        "reason": places.reason,
    }


def client_address(request: Request) -> str:
    """The address a request comes from (a trusted proxy's ``X-Forwarded-For``)."""
    settings: Settings = request.app.state.settings
    peer = request.client.host if request.client is not None else "unknown"
    if peer in settings.trusted_proxies:
        forwarded = request.headers.get("x-forwarded-for", "").split(",", 1)[0].strip()
        return forwarded or peer
    return peer


def limiter(request: Request) -> RateLimit:
    state = request.app.state
    if not hasattr(state, "registration_limit"):
        state.registration_limit = RateLimit(state.settings.registration_rate, 60.0)
    found: RateLimit = state.registration_limit
    return found


def too_many(request: Request) -> Response | None:
    """429 with ``Retry-After`` when this address has sent too many registrations (a
    limit of this process: see ``outreach.web.limits.RateLimit``)."""
    client = client_address(request)
    if limiter(request).allow(client):
        return None
    seconds = limiter(request).retry_after(client)
    return JSONResponse(
        {"error": f"too many registrations from this address; try again in {seconds} seconds"},
        status_code=429,
        headers={"Retry-After": str(seconds)},
    )


def received_message() -> str:
    return _(
        "Thank you. We have sent a message to the address you gave: it says whether you"
        " have a place or are on the waiting list, and holds your link to change or cancel."
    )


async def _policy_event(event_id: int) -> tuple[Event, RegistrationPolicy]:
    event = await Event.filter(id=event_id).select_related("library").first()
    policy = await RegistrationPolicy.filter(event_id=event_id).first()
    if event is None or policy is None:
        raise errors.NotFound("registration")
    return event, policy


@declare(body=RegistrationIn, answer=Received, status=202, idempotent=False)
async def register(request: Request) -> Response:
    """Register for an occurrence (or the series): 202, told by mail (rate limited)."""
    refused = too_many(request)
    if refused is not None:
        return refused
    # The body first: it is timed from the request's start (outreach.web.limits), and
    # under load the database may keep the handler waiting.
    data = await read_json(request, RegistrationIn)
    event, _policy = await _policy_event(request.path_params["event_id"])
    library: Library = event.library
    # The patron's language, for their notices; the answer keeps the API's English words.
    lang = (
        requested(request)
        or i18n.interface_language(library.default_language)
        or i18n.SOURCE_LANGUAGE
    )
    await service.register(event.id, data, language=data.language or lang)
    return _json({"message": received_message()}, status_code=202)


def _json(body: dict[str, Any], status_code: int) -> JSONResponse:
    # Registrations are personal: never kept by a shared cache.
    return JSONResponse(body, status_code=status_code, headers={"Cache-Control": "no-store"})


async def holder(request: Request) -> Registration:
    """The registration the path's signed link opens; an expired link is a 410."""
    try:
        return await service.by_link(request.path_params["token"])
    except links.LinkExpired as exc:
        raise ApiError(410, exc.error, fields=exc.fields) from None
    except links.LinkInvalid as exc:
        raise ApiError(404, exc.error, fields=exc.fields) from None


async def waitlist_position(registration: Registration) -> int | None:
    if registration.status != RegistrationStatus.WAITLISTED:
        return None
    ahead = await Registration.filter(
        event_id=registration.event_id,  # type: ignore[attr-defined]
        original_start=registration.original_start,
        status=RegistrationStatus.WAITLISTED,
        id__lt=registration.id,
    ).count()
    return ahead + 1


@declare(answer=RegistrationOut)
async def show(request: Request) -> Response:
    """One's own registration, through its signed link."""
    registration = await holder(request)
    position = await waitlist_position(registration)
    return _json(registration_json(registration, position), 200)


@declare(body=RegistrationChange, answer=RegistrationOut, idempotent=False)
async def change(request: Request) -> Response:
    """Change one's name or party through the link; a larger party must fit."""
    registration = await holder(request)
    data = await read_json(request, RegistrationChange)
    changed = await service.change(registration.id, data)
    return _json(registration_json(changed, await waitlist_position(changed)), 200)


@declare(answer=RegistrationOut, idempotent=False)
async def cancel(request: Request) -> Response:
    """Cancel one's registration through the link; the next on the waitlist moves up."""
    registration = await holder(request)
    return _json(registration_json(await service.cancel(registration.id)), 200)


@declare(status=204, idempotent=False)
async def erase(request: Request) -> Response:
    """Erase one's name and address now (the registration is cancelled; counts stay)."""
    registration = await holder(request)
    await service.erase(registration.id)
    return Response(status_code=204, headers={"Cache-Control": "no-store"})


class ListQuery(Declared):
    what: ClassVar[str] = "the list's query"
    original_start: Annotated[str, Text(40)] | None = None


@declare(query=ListQuery, answer=RegistrationList)
async def list_registrations(request: Request) -> Response:
    """Staff: the registrations of one occurrence (or of the series), in order."""
    event, policy = await _policy_event(request.path_params["event_id"])
    await require_library_role(request, event.library.id, READ_ROLES)
    query = read_query(request, ListQuery)
    start = service.parse_start(query.original_start)
    return _json(await registration_list(event, policy, start), 200)


async def registration_list(
    event: Event, policy: RegistrationPolicy, start: dt.datetime | None
) -> dict[str, Any]:
    rows = await Registration.filter(event_id=event.id, original_start=start).order_by(
        "created_at", "id"
    )
    waiting = [r.id for r in rows if r.status == RegistrationStatus.WAITLISTED]
    places = await service.places(
        get_connection("default"), event, policy, start, dt.datetime.now(dt.UTC)
    )
    return {
        "registrations": [
            registration_json(r, waiting.index(r.id) + 1 if r.id in waiting else None) for r in rows
        ],
        "places": places_json(places),
        "attended": sum(r.party_size for r in rows if r.status == RegistrationStatus.ATTENDED),
        "no_shows": sum(1 for r in rows if r.status == RegistrationStatus.NO_SHOW),
    }


async def _staff_registration(request: Request) -> Registration:
    registration = await Registration.get_or_none(id=request.path_params["registration_id"])
    if registration is None:
        raise errors.NotFound("registration")
    await require_library_role(request, registration.library_id, STAFF_ROLES)  # type: ignore[attr-defined]
    return registration


@declare(body=CheckIn, answer=RegistrationOut)
async def check_in(request: Request) -> Response:
    """Staff, on the day: a party came (it joins the attendance counts) or did not."""
    registration = await _staff_registration(request)
    data = await read_json(request, CheckIn)
    return _json(registration_json(await service.check_in(registration.id, data.status)), 200)


def policy_json(policy: RegistrationPolicy) -> dict[str, Any]:
    return {
        "event": policy.event_id,  # type: ignore[attr-defined]
        "scope": str(policy.scope),
        "opens_at": utc(policy.opens_at),
        "closes_at": utc(policy.closes_at),
        "closes_before_minutes": policy.closes_before_minutes,
        "max_party": policy.max_party,
        "asks_age_bands": policy.asks_age_bands,
        "waitlist": policy.waitlist,
    }


async def _staff_event(request: Request) -> Event:
    event = await Event.get_or_none(id=request.path_params["event_id"])
    if event is None:
        raise errors.NotFound("event")
    await require_library_role(request, event.library_id, STAFF_ROLES)  # type: ignore[attr-defined]
    return event


@declare(body=PolicyIn, answer=PolicyOut)
async def set_policy(request: Request) -> Response:
    """Staff: the event takes registrations, by these rules."""
    event = await _staff_event(request)
    data = await read_json(request, PolicyIn)
    return _json(policy_json(await service.set_policy(event.id, data)), 200)


@declare(body=CapacityIn, answer=PlacesOut)
async def set_capacity(request: Request) -> Response:
    """Staff: one occurrence's own number of places (never above its room's)."""
    event = await _staff_event(request)
    start = service.parse_start(request.path_params["original_start"])
    assert start is not None
    data = await read_json(request, CapacityIn)
    await service.set_capacity(event.id, start, data.capacity)
    event, policy = await _policy_event(event.id)
    places = await service.places(
        get_connection("default"), event, policy, start, dt.datetime.now(dt.UTC)
    )
    return _json(places_json(places), 200)


class OutboxQuery(Declared):
    what: ClassVar[str] = "the outbox's query"
    library: Annotated[str, Text(64, SLUG_PATTERN, "a library slug")]


def notice_json(notice: Notice) -> dict[str, Any]:
    return {
        "id": notice.id,
        "template": notice.template,
        "language": notice.language,
        "recipient": notice.recipient,
        "subject": notice.subject,
        "status": str(notice.status),
        "attempts": notice.attempts,
        "created_at": utc(notice.created_at),
        "sent_at": utc(notice.sent_at),
        "last_error": notice.last_error,
    }


@declare(query=OutboxQuery, answer=NoticeList)
async def outbox(request: Request) -> Response:
    """Staff: a library's latest notices, sent or waiting (the local outbox)."""
    query = read_query(request, OutboxQuery)
    library = await Library.get_or_none(slug=query.library)
    if library is None:
        raise errors.NotFound("library")
    await require_library_role(request, library.id, STAFF_ROLES)
    notices = await Notice.filter(library_id=library.id).order_by("-id").limit(200)
    return _json({"notices": [notice_json(n) for n in notices]}, 200)


routes: list[BaseRoute] = [
    Route("/api/events/{event_id:id}/registrations", register, methods=["POST"]),
    Route("/api/events/{event_id:id}/registrations", list_registrations, methods=["GET"]),
    Route("/api/events/{event_id:id}/registration-policy", set_policy, methods=["PUT"]),
    Route(
        "/api/events/{event_id:id}/occurrences/{original_start}/capacity",
        set_capacity,
        methods=["PUT"],
    ),
    Route("/api/registrations/{registration_id:id}/check-in", check_in, methods=["POST"]),
    Route("/api/registrations/{token}", show, methods=["GET"]),
    Route("/api/registrations/{token}", change, methods=["PATCH"]),
    Route("/api/registrations/{token}", cancel, methods=["DELETE"]),
    Route("/api/registrations/{token}/erase", erase, methods=["POST"]),
    Route("/api/outbox", outbox, methods=["GET"]),
]
