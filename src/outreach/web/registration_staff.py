"""Staff pages of registration: an event's registrations per occurrence (the list, taking a
registration by phone, check-in on the day, the rules and one date's places) and the
library's outbox, where mail waits when no SMTP server is configured."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from outreach import errors
from outreach.i18n import _
from outreach.languages import translated
from outreach.models import (
    Event,
    Library,
    Notice,
    Occurrence,
    Registration,
    RegistrationPolicy,
    RegistrationScope,
    RegistrationStatus,
)
from outreach.registration import service
from outreach.registration.schemas import PolicyIn, StaffRegistrationIn
from outreach.scheduling.recurrence import zone
from outreach.schemas import validate
from outreach.web.auth import require_library_role
from outreach.web.registration_api import STAFF_ROLES, registration_list
from outreach.web.staff import flash, page, render

DATES_SHOWN = 60


async def _event(request: Request) -> Event:
    event = await Event.filter(id=request.path_params["event_id"]).select_related("library").first()
    if event is None:
        raise errors.NotFound("event")
    await require_library_role(request, event.library.id, STAFF_ROLES)
    return event


def _start(raw: str | None) -> dt.datetime | None:
    try:
        return service.parse_start(raw or None)
    except errors.Invalid:
        return None


def _here(event: Event, start: dt.datetime | None) -> str:
    query = {"original_start": start.isoformat()} if start is not None else {}
    suffix = f"?{urlencode(query)}" if query else ""
    return f"/staff/events/{event.id}/registrations{suffix}"


async def registrations_page(request: Request) -> Response:
    """``/staff/events/{id}/registrations``: who registered for a date, and check-in."""
    event = await _event(request)
    library: Library = event.library
    lang = library.default_language
    tz = zone(event.timezone)
    policy = await RegistrationPolicy.get_or_none(event_id=event.id)
    now = dt.datetime.now(dt.UTC)
    dates = (
        await Occurrence.filter(
            event_id=event.id, stop_id=None, ends_at__gt=now - dt.timedelta(days=2)
        )
        .order_by("starts_at")
        .limit(DATES_SHOWN)
    )
    series = policy is not None and policy.scope == RegistrationScope.SERIES
    start = None if series else _start(request.query_params.get("original_start"))
    if start is None and dates and not series:
        start = dates[0].original_start
    listing: dict[str, Any] | None = None
    if policy is not None and (series or start is not None):
        listing = await registration_list(event, policy, start)
    return render(
        request,
        "staff/registrations.html",
        {
            "event": event,
            "library": library,
            "lang": lang,
            "title": translated(event.title, lang, library.default_language),
            "policy": policy,
            "series": series,
            "dates": [(d.original_start, d.starts_at.astimezone(tz), d.cancelled) for d in dates],
            "start": start,
            "listing": listing,
            "here": _here(event, start),
        },
    )


def _form_int(raw: str | None, default: int) -> int | str:
    raw = (raw or "").strip()
    if not raw:
        return default
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 7 else raw


async def registrations_action(request: Request) -> Response:
    """The page's forms: a phone registration, a check-in, a cancellation, the rules."""
    event = await _event(request)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    start = _start(form.get("original_start"))
    action = form.get("action", "")
    back = RedirectResponse(_here(event, start), status_code=303)
    try:
        if action == "phone":
            payload: dict[str, Any] = {
                "name": form.get("name", ""),
                "party_size": _form_int(form.get("party_size"), 1),
            }
            if form.get("email", "").strip():
                payload["email"] = form["email"]
            if start is not None:
                payload["original_start"] = start.isoformat()
            data = validate(StaffRegistrationIn, payload)
            outcome = await service.register(
                event.id, data, language=event.library.default_language, by_staff=True
            )
            flash(
                request,
                _("Registered on the waiting list.")
                if outcome.status == RegistrationStatus.WAITLISTED
                else _("Registered: the party has its place."),
            )
        elif action in ("attended", "no_show", "confirmed"):
            registration = await _registration_of(event, form.get("registration"))
            await service.check_in(registration.id, action)
        elif action == "cancel":
            registration = await _registration_of(event, form.get("registration"))
            await service.cancel(registration.id)
            flash(request, _("The registration is cancelled; the waiting list moved up."))
        elif action == "policy":
            policy = validate(
                PolicyIn,
                {
                    "scope": form.get("scope", "occurrence"),
                    "max_party": _form_int(form.get("max_party"), 4),
                    "closes_before_minutes": _form_int(form.get("closes_before_minutes"), 0),
                    "asks_age_bands": form.get("asks_age_bands") == "yes",
                    "waitlist": form.get("waitlist") == "yes",
                },
            )
            await service.set_policy(event.id, policy)
            flash(request, _("The registration rules are saved."))
        elif action == "capacity" and start is not None:
            raw = form.get("capacity", "").strip()
            value = _form_int(raw, 0) if raw else None
            if isinstance(value, str):
                raise errors.Invalid({"capacity": _("must be a whole number")})
            await service.set_capacity(event.id, start, value)
            flash(request, _("The places of this date are saved."))
        else:
            raise errors.Invalid({"action": _("is not one of this page's forms")})
    except errors.DomainError as exc:
        if isinstance(exc, errors.NotFound):
            raise
        flash(request, _("Nothing was changed: %(problem)s", problem=_refusal(exc)), "error")
    return back


def _refusal(exc: errors.DomainError) -> str:
    """A refusal in the page's words: each field by its label on the page, or the reason."""
    labels = {
        "name": _("Name or pseudonym"),
        "party_size": _("People"),
        "email": _("Email address"),
        "original_start": _("Date"),
        "status": _("Status"),
        "capacity": _("Places of this date"),
        "max_party": _("Largest party"),
        "closes_before_minutes": _("Registration closes this many minutes before the start"),
    }
    said = [
        _("%(field)s: %(problem)s", field=labels[name], problem=text) if name in labels else text
        for name, text in exc.fields.items()
    ]
    if isinstance(exc, errors.Conflict) or not said:
        said.insert(0, exc.error)
    return "; ".join(said)


async def _registration_of(event: Event, raw: str | None) -> Registration:
    ident = int(raw) if raw and raw.isascii() and raw.isdigit() and len(raw) < 10 else 0
    registration = await Registration.get_or_none(id=ident, event_id=event.id)
    if registration is None:
        raise errors.NotFound("registration")
    return registration


async def outbox_page(request: Request) -> Response:
    """``/staff/outbox?library=``: the library's notices, sent and waiting."""
    slug = request.query_params.get("library", "")
    library = await Library.get_or_none(slug=slug) if slug else None
    if library is None:
        raise errors.NotFound("library")
    await require_library_role(request, library.id, STAFF_ROLES)
    notices = await Notice.filter(library_id=library.id).order_by("-id").limit(100)
    tz = zone(library.timezone)
    return render(
        request,
        "staff/outbox.html",
        {
            "library": library,
            "lang": library.default_language,
            "notices": [(n, n.created_at.astimezone(tz)) for n in notices],
            "smtp": request.app.state.settings.mail.smtp_host is not None,
        },
    )


routes: list[BaseRoute] = [
    Route("/staff/events/{event_id:id}/registrations", page(registrations_page), methods=["GET"]),
    Route(
        "/staff/events/{event_id:id}/registrations",
        page(registrations_action),
        methods=["POST"],
    ),
    Route("/staff/outbox", page(outbox_page), methods=["GET"]),
]
