"""The patron's registration pages: the form (with its consent text) and the page a signed
link opens to see, change, cancel or erase one's registration. In the page's language
(``outreach.web.language``); no account, no tracking. The link's page sets one more
cookie, the session's, whose token (``outreach.web.csrf``) its forms send back: another site
that learnt the link cannot make a visitor's browser change or erase the registration."""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from tortoise.connection import get_connection

from outreach import errors, publicity
from outreach.i18n import _
from outreach.languages import translated
from outreach.models import (
    Event,
    Library,
    Occurrence,
    Registration,
    RegistrationPolicy,
    RegistrationScope,
    RegistrationStatus,
)
from outreach.registration import links, service
from outreach.registration.config import current
from outreach.registration.schemas import BANDS, RegistrationChange, RegistrationIn
from outreach.scheduling.recurrence import zone
from outreach.schemas import validate
from outreach.web.csrf import csrf_token, refusal, token_is_valid
from outreach.web.errors import status_of
from outreach.web.language import negotiate
from outreach.web.registration_api import received_message, too_many, waitlist_position
from outreach.web.staff_labels import age_band_label
from outreach.web.templating import private_page

# The most dates the form offers at once.
DATES = 20


def _messages() -> dict[str, str]:
    """What a patron is told about each field at fault, in their language."""
    return {
        "name": _("Please give a name or a pseudonym."),
        "email": _("Please give an email address such as ana@example.org."),
        "party_size": _("Please say how many people come, from 1 up."),
        "age_bands": _(
            "Please say how many of your party are in each age band, adding up to the party."
        ),
        "consent": _("Please agree to the consent text: without it we cannot keep your place."),
        "original_start": _("Please choose one of the dates."),
    }


async def _event(request: Request) -> tuple[Library, Event, RegistrationPolicy | None]:
    library = await Library.get_or_none(slug=request.path_params["library"])
    if library is None:
        raise errors.NotFound("library")
    event = await Event.get_or_none(
        publicity.events(), id=request.path_params["event_id"], library_id=library.id
    )
    if event is None:
        raise errors.NotFound("event")
    policy = await RegistrationPolicy.get_or_none(event_id=event.id)
    return library, event, policy


async def _dates(
    event: Event, policy: RegistrationPolicy, now: dt.datetime
) -> list[dict[str, Any]]:
    """The dates one may register for, with their places."""
    conn = get_connection("default")
    tz = zone(event.timezone)
    if policy.scope == RegistrationScope.SERIES:
        places = await service.places(conn, event, policy, None, now)
        coming = (
            await Occurrence.filter(
                event_id=event.id, stop_id=None, ends_at__gt=now, cancelled=False
            )
            .order_by("starts_at")
            .first()
        )
        if coming is None:
            return []
        return [
            {
                "value": "",
                "start": coming.starts_at.astimezone(tz),
                "end": coming.ends_at.astimezone(tz),
                "places": places,
            }
        ]
    rows = (
        await Occurrence.filter(event_id=event.id, stop_id=None, ends_at__gt=now, cancelled=False)
        .order_by("starts_at")
        .limit(DATES)
    )
    dates = []
    for row in rows:
        places = await service.places(conn, event, policy, row.original_start, now)
        dates.append(
            {
                "value": row.original_start.astimezone(dt.UTC).isoformat(),
                "start": row.starts_at.astimezone(tz),
                "end": row.ends_at.astimezone(tz),
                "places": places,
            }
        )
    return dates


def _form_payload(form: dict[str, str], asks_bands: bool) -> dict[str, Any]:
    """The form's fields as the declared input reads them (numbers as numbers)."""
    payload: dict[str, Any] = {
        "name": form.get("name", ""),
        "email": form.get("email", ""),
        "consent": form.get("consent") == "yes",
        "website": form.get("website", ""),
    }
    if form.get("original_start"):
        payload["original_start"] = form["original_start"]
    party = form.get("party_size", "1").strip()
    payload["party_size"] = (
        int(party) if party.isascii() and party.isdigit() and len(party) < 4 else party
    )
    if asks_bands:
        bands = {}
        for band in BANDS:
            raw = form.get(f"band_{band}", "").strip()
            if raw:
                bands[band] = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 4 else raw
        payload["age_bands"] = bands or None
    return payload


async def register_page(request: Request) -> Response:
    """``/{library}/events/{id}/register``: the dates, their places and the form."""
    library, event, policy = await _event(request)
    lang = negotiate(request, default=library.default_language)
    now = dt.datetime.now(dt.UTC)
    context: dict[str, Any] = {
        "library": library,
        "event": event,
        "policy": policy,
        "lang": lang,
        "title": translated(event.title, lang, library.default_language),
        "bands": {band: age_band_label(band) for band in BANDS},
        "erase_days": current().erase_days,
        "problems": {},
        "error": None,
        "form": {},
    }
    if policy is None:
        return private_page(request, "registration/register.html", {**context, "dates": []})
    context["dates"] = await _dates(event, policy, now)
    if request.method == "GET":
        return private_page(request, "registration/register.html", context)
    refused = too_many(request)
    if refused is not None:
        return private_page(
            request,
            "registration/register.html",
            {
                **context,
                "error": _(
                    "Too many registrations were sent from your address."
                    " Please try again in a few minutes."
                ),
            },
            status=429,
        )
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    context["form"] = form
    try:
        data = validate(RegistrationIn, _form_payload(form, policy.asks_age_bands))
        await service.register(event.id, data, language=lang)
    except errors.DomainError as exc:
        messages = _messages()
        problems = {
            name: messages.get(name.split(".")[0].split("[")[0], text)
            for name, text in exc.fields.items()
        }
        error = (
            exc.error
            if isinstance(exc, service.Closed | service.Full)
            else _("Please correct what is marked below.")
        )
        if isinstance(exc, errors.NotFound):
            raise
        return private_page(
            request,
            "registration/register.html",
            {**context, "problems": problems, "error": error},
            status=status_of(exc),
        )
    return private_page(
        request,
        "registration/received.html",
        {**context, "message": received_message()},
        status=202,
    )


async def _holder(request: Request) -> tuple[Library, Registration | None, str | None, int]:
    """The link's registration, or why there is none and the status that says so."""
    library = await Library.get_or_none(slug=request.path_params["library"])
    if library is None:
        raise errors.NotFound("library")
    invalid = _("This link is not valid. Please use the link from your email, whole.")
    try:
        registration = await service.by_link(request.path_params["token"])
    except links.LinkExpired:
        expired = _(
            "This link has expired: the registration it was for is over, and its data"
            " has been erased."
        )
        return library, None, expired, 410
    except links.LinkInvalid:
        return library, None, invalid, 404
    if registration.library_id != library.id:  # type: ignore[attr-defined]
        return library, None, invalid, 404
    return library, registration, None, 200


async def manage_page(request: Request) -> Response:
    """``/{library}/registrations/{token}``: one's registration, to see, change, cancel
    or erase."""
    library, registration, problem, status = await _holder(request)
    default = registration.language if registration else library.default_language
    lang = negotiate(request, default=default)
    base = {"library": library, "lang": lang, "erase_days": current().erase_days}
    if registration is None:
        # Worded again now that the page's language is known.
        problem = (await _holder(request))[2]
        context = {**base, "registration": None, "problem": problem}
        return private_page(request, "registration/manage.html", context, status=status)
    base["csrf_token"] = csrf_token(request)
    message = None
    if request.method == "POST":
        sent = await request.form()
        form = {k: v for k, v in sent.items() if isinstance(v, str)}
        action = form.get("action")
        try:
            if not token_is_valid(request, sent):
                status = 403
                message = refusal()
            elif action == "erase" and form.get("confirm") != "yes":
                # Erasing cannot be undone: the patron is first told what goes.
                return private_page(
                    request,
                    "registration/erase.html",
                    {**base, "registration": registration, "path": request.url.path},
                )
            elif action == "cancel":
                await service.cancel(registration.id)
                message = _("Your registration is cancelled. Thank you for letting us know.")
            elif action == "erase":
                await service.erase(registration.id)
                return private_page(
                    request,
                    "registration/manage.html",
                    {
                        **base,
                        "registration": None,
                        "problem": None,
                        "message": _(
                            "Your name and address are erased. Only the count of places remains."
                        ),
                    },
                )
            elif action == "change":
                payload = _form_payload(form, False)
                change = validate(
                    RegistrationChange,
                    {"name": payload["name"], "party_size": payload["party_size"]},
                )
                await service.change(registration.id, change)
                message = _("Your registration is changed.")
            else:
                raise errors.Invalid({"action": "must be change, cancel or erase"})
        except errors.DomainError as exc:
            status = status_of(exc)
            message = (
                exc.error
                if isinstance(exc, service.Full)
                else _(
                    "Nothing was changed: %(problem)s",
                    problem=", ".join(_messages().get(k, v) for k, v in exc.fields.items())
                    or exc.error,
                )
            )
        registration = await service.by_link(request.path_params["token"])
    event = registration.event
    when = await service.when_of(get_connection("default"), registration, dt.datetime.now(dt.UTC))
    tz = zone(event.timezone)
    return private_page(
        request,
        "registration/manage.html",
        {
            **base,
            "registration": registration,
            "active": registration.status in service.ACTIVE,
            "statuses": RegistrationStatus,
            "position": await waitlist_position(registration),
            "event": event,
            "title": translated(event.title, lang, library.default_language),
            "start": when.starts_at.astimezone(tz) if when else None,
            "end": when.ends_at.astimezone(tz) if when else None,
            "message": message,
            "problem": None,
        },
        status=status,
    )


routes: list[BaseRoute] = [
    Route("/{library:slug}/events/{event_id:id}/register", register_page, methods=["GET", "POST"]),
    Route("/{library:slug}/registrations/{token}", manage_page, methods=["GET", "POST"]),
]
